"""`comwit apply [PLANFILE]`: plan and apply, or apply a saved plan exactly."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.connect import Connection
from comwit.apply.execute import DEFAULT_PARALLEL, Executor, Inputs
from comwit.apply.result import ApplyResult
from comwit.apply.stale import check_saved_plan, recheck_saved_plan
from comwit.cli.ci_options import (
    CiChoice,
    Comment,
    CommentOn,
    CommentWhen,
    NoSummary,
    after_apply,
)
from comwit.cli.plan_cmds import AllowDeleteEnv, AllowDetach, show_plan
from comwit.cli.session import Target, api_identity, connect, load_target, plan_request, plan_target
from comwit.cli.settings import (
    APPS,
    CONCURRENCY,
    FORMAT,
    TARGET,
    TIMEOUT,
    VERBOSITY,
    OutputFormat,
    Settings,
    command,
)
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_BUG, EXIT_ERROR, EXIT_OK
from comwit.plan.actions import Plan
from comwit.plan.state import ObservedApp
from comwit.planner import PlanRequest, open_ledger_store
from comwit.render.progress import make_reporter
from comwit.render.summary import render_summary, render_summary_json
from comwit.render.text import render_text
from comwit.store.pending import PendingAwareStore
from comwit.store.saved import SavedPlan, read_plan


@command(TARGET, APPS, FORMAT, CONCURRENCY, VERBOSITY, TIMEOUT)
def apply(
    settings: Settings,
    planfile: Annotated[
        Path | None, typer.Argument(help="A plan saved by `comwit plan --out`.", show_default=False)
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    allow_detach: AllowDetach = None,
    allow_delete_env: AllowDeleteEnv = None,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=32, help="Apps applied at once.")
    ] = DEFAULT_PARALLEL,
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
) -> int:
    """Make the apps match the manifest: upload, roll back, bind and unbind, set env vars."""
    if planfile is not None:
        if settings.include or settings.exclude or allow_detach or allow_delete_env:
            raise ComwitError(
                "a saved plan is applied exactly as planned: --app, --exclude-app, "
                "--allow-detach and --allow-delete-env belong to `comwit plan`"
            )
        saved = read_plan(planfile)
        settings = dataclasses.replace(
            settings,
            manifest_file=settings.manifest_file or Path(saved.manifest.path),
            env=settings.env or saved.manifest.environment,
            # COMWIT_PROJECT counts like --project: a plan for another project is refused.
            project=settings.project
            or settings.environ.get("COMWIT_PROJECT")
            or saved.plan.project,
        )
        plan = saved.plan
        result = asyncio.run(_apply_saved(settings, saved, load_target(settings), parallel))
    else:
        target = load_target(settings)
        request = plan_request(
            settings, target, allow_detach=allow_detach, allow_delete_env=allow_delete_env
        )
        plan, result = asyncio.run(_plan_and_apply(settings, target, request, parallel, yes))
    code = show_result(result, settings.output_format, settings.console)
    after_apply(settings, plan, result, choice=CiChoice(comment, comment_on, no_summary))
    return code


def show_result(result: ApplyResult, output_format: OutputFormat, console: Console) -> int:
    """Print what apply did; the exit code is 1 when any app failed or was skipped."""
    if output_format is OutputFormat.json:
        console.print(render_summary_json(result))
    else:
        console.print(render_summary(result, console.style))
    return EXIT_BUG if result.bug else EXIT_OK if result.ok else EXIT_ERROR


async def _plan_and_apply(
    settings: Settings, target: Target, request: PlanRequest, parallel: int, yes: bool
) -> tuple[Plan, ApplyResult]:
    async with connect(settings, target) as connection:
        with tempfile.TemporaryDirectory(prefix="comwit-") as work:
            return await _apply_planned(
                settings, target, request, connection, parallel, yes, Path(work)
            )


async def _apply_planned(
    settings: Settings,
    target: Target,
    request: PlanRequest,
    connection: Connection,
    parallel: int,
    yes: bool,
    work: Path,
) -> tuple[Plan, ApplyResult]:
    """Plan, packing what will be uploaded into `work` on the way, then apply."""
    planned = await plan_target(settings, target, connection, request, pack_into=work)
    show_applied_plan(planned.plan, settings)
    await complete_pending(settings, target, connection, planned.observed.apps)
    if planned.plan.has_changes:
        confirm(planned.plan, settings.console, yes)
    inputs = Inputs(
        project=target.project,
        root=target.loaded.root,
        env=planned.env,
        observed=planned.observed.apps,
        keep=target.loaded.state.keep,
        packed=planned.packed,
    )
    result = await execute_plan(settings, planned.plan, inputs, connection, target, parallel)
    return planned.plan, result


async def _apply_saved(
    settings: Settings, saved: SavedPlan, target: Target, parallel: int
) -> ApplyResult:
    console = settings.console
    async with connect(settings, target) as connection:
        check_saved_plan(
            saved, target.loaded, project=target.project, api_url=api_identity(connection)
        )
        store = open_ledger_store(target.loaded.state, connection.client, target.project)
        env, observed, stale = await recheck_saved_plan(
            saved, target.loaded, connection.client, store, settings.environ
        )
        inputs = Inputs(
            project=target.project,
            root=target.loaded.root,
            env=env,
            observed=observed.apps,
            keep=target.loaded.state.keep,
            stale=stale,
        )
        console.info("Applying the saved plan:")
        show_applied_plan(saved.plan, settings)
        await complete_pending(settings, target, connection, observed.apps)
        return await execute_plan(settings, saved.plan, inputs, connection, target, parallel)


async def execute_plan(
    settings: Settings,
    plan: Plan,
    inputs: Inputs,
    connection: Connection,
    target: Target,
    parallel: int,
) -> ApplyResult:
    store = open_ledger_store(target.loaded.state, connection.client, target.project)
    reporter = make_reporter(settings.console)
    try:
        executor = Executor(connection.client, store, inputs, reporter, parallel=parallel)
        return await executor.apply(plan)
    finally:
        reporter.close()


async def complete_pending(
    settings: Settings,
    target: Target,
    connection: Connection,
    observed: Mapping[str, ObservedApp],
) -> None:
    """Write the ledger records an earlier run kept in .comwit/ because it could not."""
    store = open_ledger_store(target.loaded.state, connection.client, target.project)
    if isinstance(store, PendingAwareStore):
        for warning in await store.complete(observed):
            settings.console.warn(warning)


def show_applied_plan(plan: Plan, settings: Settings) -> None:
    """The plan before it is applied: on stdout, or on stderr when stdout is for JSON."""
    console = settings.console
    if settings.output_format is OutputFormat.json:
        console.info(render_text(plan, verbose=console.verbosity > 0))
    else:
        show_plan(plan, OutputFormat.text, console)


def confirm(plan: Plan, console: Console, yes: bool) -> None:
    if yes:
        return
    if not console.interactive:
        raise ComwitError(
            "not applying: there is no terminal to confirm on; pass --yes, "
            "or apply a plan saved with `comwit plan --out FILE`"
        )
    question = f"\nApply these changes to project {plan.project}? Type 'yes' to go on: "
    if console.ask(question) != "yes":
        raise ComwitError("not applying: the changes were not confirmed")
