"""`comwit rollback APP`: make an earlier build live again, as a plan shown and then applied."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated

import typer

from comwit.apply.result import ApplyResult
from comwit.cli.applying import (
    LockTimeout,
    RunOptions,
    complete_pending,
    confirm,
    execute_plan,
    run_inputs,
    show_applied_plan,
    show_result,
)
from comwit.cli.ci_options import CiChoice, NoSummary, after_apply
from comwit.cli.session import Target, load_target, observe_one, order_guard, require_app
from comwit.cli.settings import FORMAT, TARGET, TIMEOUT, VERBOSITY, Settings, command
from comwit.plan.actions import Plan
from comwit.plan.rollback import PREVIOUS, rollback_plan


@command(TARGET, FORMAT, VERBOSITY, TIMEOUT)
def rollback(
    settings: Settings,
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
    to: Annotated[
        str, typer.Option("--to", help="A build id, or 'previous': the build live before this one.")
    ] = PREVIOUS,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Roll back without asking.")] = False,
    lock_timeout: LockTimeout = 0.0,
    no_summary: NoSummary = False,
) -> int:
    """Make an existing build of APP live again (no upload); the ledger records it."""
    target = load_target(settings)
    require_app(target, app)
    options = RunOptions(parallel=1, lock_timeout=lock_timeout)
    plan, result = asyncio.run(_rollback(settings, target, app, to, yes, options))
    code = show_result(result, settings.output_format, settings.console)
    # In CI, the job summary and step outputs (urls, failed-apps, done) say it as apply's do.
    after_apply(settings, plan, result, choice=CiChoice(no_summary=no_summary))
    return code


async def _rollback(
    settings: Settings, target: Target, app: str, to: str, yes: bool, options: RunOptions
) -> tuple[Plan, ApplyResult]:
    console = settings.console
    async with observe_one(settings, target, app) as one:
        observed = one.observation.state.apps[app]
        plan = rollback_plan(observed, target.project, to)
        others = tuple(name for name in target.loaded.apps if name != app)
        plan = plan.model_copy(update={"not_selected": others})
        show_applied_plan(plan, settings)
        if not plan.has_changes:
            console.info(f"Build {observed.active_build_id} is already live: nothing to do.")
        else:
            await confirm(plan, console, yes)
            # Records an earlier run kept in .comwit/ go in first, as apply's do: else the
            # ledger under the lease differs from the one planned, as if another run wrote it.
            await complete_pending(settings, one.store, one.observation.state.apps)
        inputs = run_inputs(target, one.observation.state.apps)
        # An explicit choice: never held back by the ordering guard (its commit is recorded).
        guard = order_guard(settings, target, allow_older=True)
        result = await execute_plan(
            settings, plan, inputs, one.connection, one.store, options, guard
        )
    outcome = result.outcomes[0]
    if outcome.status == "done" and outcome.build_id:
        return plan, replace(result, hints=_keep_hints(target, app, outcome.build_id))
    return plan, result


def _keep_hints(target: Target, app: str, build_id: str) -> tuple[str, ...]:
    """What the next apply does to a rollback, and the manifest line that keeps it."""
    config = target.loaded.apps[app]
    field = "build" if config.build is not None else "build_dir"
    at = target.loaded.source.problem(("apps", app, field), "")
    where = f"{at.file}:{at.line}" if at.line is not None else at.file
    if config.build is not None:
        undo = f"makes the pinned build {config.build} live again"
        keep = f"change the pin ({where}: apps.{app}.build) to"
    else:
        undo = "makes the build dir live again (uploading it if no build holds it)"
        keep = f"pin it in place of build_dir ({where}: apps.{app}.build_dir):"
    return (
        f"The next `comwit apply` {undo}. To keep build {build_id} live, {keep}",
        f'    build = "{build_id}"',
    )
