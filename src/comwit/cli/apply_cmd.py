"""`comwit apply [PLANFILE]`: plan and apply, or apply a saved plan exactly."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.connect import Connection
from comwit.apply.execute import DEFAULT_PARALLEL, Executor, Inputs
from comwit.apply.result import ApplyResult
from comwit.apply.stale import check_saved_plan, stale_apps
from comwit.cli.options import (
    ApiUrl,
    Apps,
    Environment,
    ExcludeApps,
    OutputFormat,
    Project,
    Quiet,
    TextOrJson,
    Verbose,
)
from comwit.cli.plan_cmds import AllowDeleteEnv, AllowDetach, Concurrency, Format, show_plan
from comwit.cli.session import Target, api_identity, connect, load_target, plan_request, plan_target
from comwit.console import Console, make_console
from comwit.errors import ComwitError
from comwit.manifest import DEFAULT_FILE
from comwit.observe import DEFAULT_CONCURRENCY
from comwit.plan.actions import Plan
from comwit.planner import PlanRequest, open_ledger_store
from comwit.render.progress import make_reporter
from comwit.render.summary import render_summary, render_summary_json
from comwit.store.saved import SavedPlan, read_plan


def apply(
    planfile: Annotated[
        Path | None, typer.Argument(help="A plan saved by `comwit plan --out`.", show_default=False)
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--file", "-f", help="The manifest [default: comwit.toml].")
    ] = None,
    env: Environment = None,
    project: Project = None,
    api_url: ApiUrl = None,
    app: Apps = None,
    exclude_app: ExcludeApps = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    allow_detach: AllowDetach = None,
    allow_delete_env: AllowDeleteEnv = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=32, help="Apps applied at once.")
    ] = DEFAULT_PARALLEL,
    output_format: OutputFormat = TextOrJson.text,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> int:
    """Make the apps match the manifest: upload, roll back, bind and unbind, set env vars."""
    console = make_console(quiet=quiet, verbose=verbose)
    if planfile is not None:
        if app or exclude_app or allow_detach or allow_delete_env:
            raise ComwitError(
                "a saved plan is applied exactly as planned: --app, --exclude-app, "
                "--allow-detach and --allow-delete-env belong to `comwit plan`"
            )
        saved = read_plan(planfile)
        path = manifest or Path(saved.manifest.path)
        target = load_target(path, env or saved.manifest.environment, project or saved.plan.project)
        run = _apply_saved(saved, target, api_url, console, parallel)
    else:
        target = load_target(manifest or Path(DEFAULT_FILE), env, project)
        request = plan_request(
            target,
            include=app,
            exclude=exclude_app,
            allow_detach=allow_detach,
            allow_delete_env=allow_delete_env,
            concurrency=concurrency,
        )
        run = _plan_and_apply(target, request, api_url, console, parallel, yes)
    return show_result(asyncio.run(run), output_format, console)


def show_result(result: ApplyResult | None, output_format: TextOrJson, console: Console) -> int:
    """Print what apply did; the exit code is 1 when any app failed or was skipped."""
    if result is None:
        return 0
    if output_format is TextOrJson.json:
        console.print(render_summary_json(result))
    else:
        console.print(render_summary(result, console.style))
    return 3 if result.bug else 0 if result.ok else 1


async def _plan_and_apply(
    target: Target,
    request: PlanRequest,
    api_url: str | None,
    console: Console,
    parallel: int,
    yes: bool,
) -> ApplyResult | None:
    async with connect(target, api_url, console) as connection:
        planned = await plan_target(target, connection, request, console)
        show_plan(planned.plan, Format.text, console)
        if not planned.plan.has_changes:
            return None if not planned.plan.has_errors else _nothing(planned.plan)
        confirm(planned.plan, console, yes)
        inputs = Inputs(
            project=target.project,
            root=target.loaded.root,
            env=planned.env,
            observed=planned.observed.apps,
            keep=target.loaded.state.keep,
        )
        return await execute_plan(planned.plan, inputs, connection, target, console, parallel)


async def _apply_saved(
    saved: SavedPlan, target: Target, api_url: str | None, console: Console, parallel: int
) -> ApplyResult | None:
    async with connect(target, api_url, console) as connection:
        check_saved_plan(
            saved, target.loaded, project=target.project, api_url=api_identity(connection)
        )
        env, stale = stale_apps(saved, target.loaded, os.environ)
        inputs = Inputs(
            project=target.project,
            root=target.loaded.root,
            env=env,
            observed=None,
            keep=target.loaded.state.keep,
            stale=stale,
            salt=saved.salt,
            live_env=saved.live_env,
        )
        console.info("Applying the saved plan:")
        show_plan(saved.plan, Format.text, console)
        if not saved.plan.has_changes:
            return None
        return await execute_plan(saved.plan, inputs, connection, target, console, parallel)


async def execute_plan(
    plan: Plan,
    inputs: Inputs,
    connection: Connection,
    target: Target,
    console: Console,
    parallel: int,
) -> ApplyResult:
    store = open_ledger_store(target.loaded.state, connection.client, target.project)
    reporter = make_reporter(console)
    try:
        executor = Executor(connection.client, store, inputs, reporter, parallel=parallel)
        return await executor.apply(plan)
    finally:
        reporter.close()


def confirm(plan: Plan, console: Console, yes: bool) -> None:
    if yes:
        return
    if not console.interactive:
        raise ComwitError(
            "not applying: there is no terminal to confirm on; pass --yes, "
            "or apply a plan saved with `comwit plan --out FILE`"
        )
    console.err.write(f"\nApply these changes to project {plan.project}? Type 'yes' to go on: ")
    console.err.flush()
    if sys.stdin.readline().strip() != "yes":
        raise ComwitError("not applying: the changes were not confirmed")


def _nothing(plan: Plan) -> ApplyResult:
    from comwit.apply.result import Outcome

    return ApplyResult(
        tuple(Outcome(a.app, "skipped", f"not applied: {a.error}") for a in plan.apps if a.error)
    )


def register(app: typer.Typer) -> None:
    app.command()(apply)
