"""Commands that read only the manifest: `validate` and `schema`. No token, no network."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from comwit.cli.options import DEFAULT_MANIFEST, Environment, ManifestFile
from comwit.console import make_console
from comwit.errors import ManifestError
from comwit.manifest import LoadedManifest, check_manifest, load_manifest
from comwit.manifest.checks import check_machine
from comwit.manifest.load import display_name
from comwit.manifest.model import json_schema


def validate(manifest: ManifestFile = DEFAULT_MANIFEST, env: Environment = None) -> int:
    """Check the manifest, its environments, build dirs and ${VAR}s, offline."""
    console = make_console()
    loaded = [load_manifest(manifest, env=env)] if env else check_manifest(manifest)
    problems = []
    for each in loaded:
        try:
            check_machine(each, os.environ)
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(sorted(set(problems)))
    console.print(_summary(display_name(manifest), loaded))
    return 0


def schema(
    plan: Annotated[
        bool, typer.Option("--plan", help="The schema of `plan --format json` instead.")
    ] = False,
) -> int:
    """Print the JSON Schema of comwit.toml (for Taplo / Even Better TOML)."""
    from comwit.render.jsonplan import plan_schema

    document = plan_schema() if plan else json_schema()
    make_console().print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def _summary(name: str, loaded: list[LoadedManifest]) -> str:
    base = loaded[0]
    apps = ", ".join(base.apps)
    text = f"{name} is valid: {len(base.apps)} app{'s' if len(base.apps) != 1 else ''} ({apps})"
    if base.env:
        text += f" with environment {base.env!r}"
    elif base.environments:
        text += f"; environments checked: {', '.join(base.environments)}"
    return text


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(schema)
