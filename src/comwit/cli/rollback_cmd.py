"""`comwit rollback APP`: make an earlier build live again, as a plan shown and then applied."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.apply.execute import Inputs
from comwit.apply.result import ApplyResult
from comwit.cli.apply_cmd import confirm, execute_plan, show_result
from comwit.cli.plan_cmds import show_plan
from comwit.cli.session import Target, connect, load_target, observe_one, require_app
from comwit.cli.settings import FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.plan.rollback import PREVIOUS, rollback_plan


@command(TARGET, FORMAT, VERBOSITY)
def rollback(
    settings: Settings,
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
    to: Annotated[
        str, typer.Option("--to", help="A build id, or 'previous': the build live before this one.")
    ] = PREVIOUS,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Roll back without asking.")] = False,
) -> int:
    """Make an existing build of APP live again (no upload); the ledger records it."""
    target = load_target(settings)
    require_app(target, app)
    result = asyncio.run(_rollback(settings, target, app, to, yes))
    return show_result(result, settings.output_format, settings.console)


async def _rollback(
    settings: Settings, target: Target, app: str, to: str, yes: bool
) -> ApplyResult | None:
    console = settings.console
    async with connect(settings, target) as connection:
        observation = await observe_one(settings, target, connection, app)
        observed = observation.state.apps[app]
        plan = rollback_plan(observed, target.project, to)
        show_plan(plan, OutputFormat.text, console)
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
        return await execute_plan(settings, plan, inputs, connection, target, parallel=1)
