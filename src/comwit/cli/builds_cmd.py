"""`comwit builds APP`: an app's builds, newest first, the live one marked."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.cli.options import (
    DEFAULT_MANIFEST,
    ApiUrl,
    Environment,
    ManifestFile,
    OutputFormat,
    Project,
    Quiet,
    TextOrJson,
    Verbose,
)
from comwit.cli.session import Target, connect, load_target
from comwit.console import Console, make_console
from comwit.errors import ComwitError
from comwit.plan.observe import observe
from comwit.plan.planner import open_ledger_store
from comwit.plan.state import ObservedApp
from comwit.render.builds import render_builds_json, render_builds_text


def builds(
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
    manifest: ManifestFile = DEFAULT_MANIFEST,
    env: Environment = None,
    project: Project = None,
    api_url: ApiUrl = None,
    output_format: OutputFormat = TextOrJson.text,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> int:
    """List APP's builds, newest first: the live one, size, and what the ledger knows of each."""
    console = make_console(quiet=quiet, verbose=verbose)
    target = load_target(manifest, env, project)
    if app not in target.loaded.apps:
        names = ", ".join(target.loaded.apps)
        raise ComwitError(f"app {app!r} is not in the manifest (apps: {names})")
    observed = asyncio.run(_observe(target, app, api_url, console))
    match output_format:
        case TextOrJson.json:
            console.print(render_builds_json(target.project, observed))
        case TextOrJson.text:
            console.print(render_builds_text(target.project, observed))
    return 0


async def _observe(target: Target, app: str, api_url: str | None, console: Console) -> ObservedApp:
    async with connect(target, api_url, console) as connection:
        store = open_ledger_store(target.loaded.state, connection.client, target.project)
        observation = await observe(connection.client, target.project, [app], store)
    for warning in observation.warnings:
        console.warn(warning)
    observed = observation.state.apps.get(app)
    if observed is None:
        raise ComwitError(
            f"app {app!r} does not exist in project {target.project} yet; `comwit apply` creates it"
        )
    return observed


def register(app: typer.Typer) -> None:
    app.command()(builds)
