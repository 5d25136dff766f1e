"""`comwit rollback APP`: make an earlier build live again, as a plan shown and then applied."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.apply.execute import Inputs
from comwit.apply.result import ApplyResult
from comwit.cli.apply_cmd import confirm, execute_plan, show_result
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
from comwit.cli.plan_cmds import Format, show_plan
from comwit.cli.session import Target, connect, load_target, observe_one, require_app
from comwit.console import Console, make_console
from comwit.plan.rollback import PREVIOUS, rollback_plan


def rollback(
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
    to: Annotated[
        str, typer.Option("--to", help="A build id, or 'previous': the build live before this one.")
    ] = PREVIOUS,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Roll back without asking.")] = False,
    manifest: ManifestFile = DEFAULT_MANIFEST,
    env: Environment = None,
    project: Project = None,
    api_url: ApiUrl = None,
    output_format: OutputFormat = TextOrJson.text,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> int:
    """Make an existing build of APP live again (no upload); the ledger records it."""
    console = make_console(quiet=quiet, verbose=verbose)
    target = load_target(manifest, env, project)
    require_app(target, app)
    result = asyncio.run(_rollback(target, app, to, api_url, console, yes))
    return show_result(result, output_format, console)


async def _rollback(
    target: Target, app: str, to: str, api_url: str | None, console: Console, yes: bool
) -> ApplyResult | None:
    async with connect(target, api_url, console) as connection:
        observation = await observe_one(target, connection, app, console)
        observed = observation.state.apps[app]
        plan = rollback_plan(observed, target.project, to)
        show_plan(plan, Format.text, console)
        if not plan.has_changes:
            console.info(f"Build {observed.active_build_id} is already live: nothing to do.")
            return None
        confirm(plan, console, yes)
        inputs = Inputs(
            project=target.project,
            root=target.loaded.root,
            env={},
            observed=observation.state.apps,
            keep=target.loaded.state.keep,
        )
        return await execute_plan(plan, inputs, connection, target, console, parallel=1)


def register(app: typer.Typer) -> None:
    app.command()(rollback)
