"""Commands that read only the manifest: `validate` and `schema`. No token, no network."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from comwit.cli.settings import MANIFEST, Settings, command
from comwit.errors import ManifestError, Problem
from comwit.escape import quoted
from comwit.exit_codes import EXIT_OK
from comwit.manifest import LoadedManifest, check_manifest, load_manifest
from comwit.manifest.checks import check_machine, inherited_hosts
from comwit.manifest.load import display_name
from comwit.manifest.model import json_schema


@command(MANIFEST)
def validate(
    settings: Settings,
    allow_missing_vars: Annotated[
        bool,
        typer.Option(
            "--allow-missing-vars",
            help="Report unset ${VAR}s as warnings (for a fork's pull request or a laptop).",
        ),
    ] = False,
) -> int:
    """Check the manifest, its environments, build dirs and ${VAR}s, offline."""
    manifest, env = settings.manifest, settings.env
    loaded = [load_manifest(manifest, env=env)] if env else check_manifest(manifest)
    top = load_manifest(manifest) if env else loaded[0]
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for each in loaded:
        warnings += inherited_hosts(top, each)
        missing = warnings if allow_missing_vars else None
        try:
            check_machine(each, settings.environ, walk_trees=True, missing=missing)
        except ManifestError as exc:
            problems.extend(exc.problems)
    shown = sorted(set(warnings), key=_order)
    for warning in shown:
        settings.console.warn(str(warning))
    if shown:  # the CI's annotations are loaded only when there is something to show
        from comwit.cli.ci_options import annotate_problems

        annotate_problems(settings, shown, "warning")
    if problems:
        raise ManifestError(sorted(set(problems), key=_order))
    settings.console.print(_summary(display_name(manifest), loaded))
    return EXIT_OK


def _order(problem: Problem) -> tuple[str, int, int, str, str]:
    return (problem.file, problem.line or 0, problem.column or 0, problem.field, problem.message)


@command()
def schema(
    settings: Settings,
    plan: Annotated[
        bool, typer.Option("--plan", help="The schema of `plan --format json` instead.")
    ] = False,
) -> int:
    """Print the JSON Schema of comwit.toml (for Taplo / Even Better TOML)."""
    from comwit.render.jsonplan import plan_schema

    document = plan_schema() if plan else json_schema()
    settings.console.print(json.dumps(document, indent=2, sort_keys=True))
    return EXIT_OK


def _summary(name: str, loaded: list[LoadedManifest]) -> str:
    base = loaded[0]
    apps = ", ".join(base.apps)
    text = f"{name} is valid: {len(base.apps)} app{'s' if len(base.apps) != 1 else ''} ({apps})"
    if base.env:
        text += f" with environment {quoted(base.env)}"
    elif base.environments:
        text += f"; environments checked: {', '.join(base.environments)}"
    return text
