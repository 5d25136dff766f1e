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
from comwit.cli.session import Target, connect, load_target, observe_one, require_app
from comwit.console import Console, make_console
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
    require_app(target, app)
    observed = asyncio.run(_observe(target, app, api_url, console))
    match output_format:
        case TextOrJson.json:
            console.print(render_builds_json(target.project, observed))
        case TextOrJson.text:
            console.print(render_builds_text(target.project, observed))
    return 0


async def _observe(target: Target, app: str, api_url: str | None, console: Console) -> ObservedApp:
    async with connect(target, api_url, console) as connection:
        observation = await observe_one(target, connection, app, console)
    return observation.state.apps[app]


def register(app: typer.Typer) -> None:
    app.command()(builds)
