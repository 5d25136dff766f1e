"""`comwit builds APP`: an app's builds, newest first, the live one marked."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.cli.session import Target, load_target, observe_one, require_app
from comwit.cli.settings import FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.exit_codes import EXIT_OK
from comwit.plan.state import ObservedApp
from comwit.render.builds import render_builds_json, render_builds_text


@command(TARGET, FORMAT, VERBOSITY)
def builds(
    settings: Settings,
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
) -> int:
    """List APP's builds, newest first: the live one, size, and what the ledger knows of each."""
    target = load_target(settings)
    require_app(target, app)
    observed = asyncio.run(_observe(settings, target, app))
    match settings.output_format:
        case OutputFormat.json:
            settings.console.print(render_builds_json(target.project, observed))
        case _:
            settings.console.print(render_builds_text(target.project, observed))
    return EXIT_OK


async def _observe(settings: Settings, target: Target, app: str) -> ObservedApp:
    async with observe_one(settings, target, app) as one:
        return one.observation.state.apps[app]
