"""`comwit apply [PLANFILE]`: plan and apply, or apply a saved plan exactly."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import functools
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.connect import Connection
from comwit.apply.execute import DEFAULT_PARALLEL
from comwit.apply.rederive import implied_app
from comwit.apply.result import ApplyResult
from comwit.apply.shard import TimedReporter, select_shard
from comwit.apply.stale import check_saved_plan, recheck_saved_plan
from comwit.apply.workdir import WorkDir
from comwit.cli.applying import (
    LockTimeout,
    RunOptions,
    complete_pending,
    confirm,
    execute_plan,
    missing_scopes,
    refuse_unwritable,
    refuse_without_scopes,
    run_inputs,
    show_applied_plan,
    show_result,
)
from comwit.cli.ci_options import (
    CiChoice,
    Comment,
    CommentOn,
    CommentWhen,
    NoSummary,
    after_apply,
    noting_failure,
)
from comwit.cli.plan_cmds import AllowDeleteEnv, AllowDetach, AllowOlder, refuse_inside_a_build_dir
from comwit.cli.session import (
    Target,
    api_identity,
    connect,
    ledger_store,
    load_target,
    order_guard,
    plan_request,
    plan_target,
)
from comwit.cli.settings import (
    APPS,
    CONCURRENCY,
    FORMAT,
    TARGET,
    TIMEOUT,
    VERBOSITY,
    Settings,
    command,
)
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.escape import cut_path
from comwit.frozen import frozen
from comwit.plan.actions import Plan
from comwit.planner import PlanRequest, plan_app_again
from comwit.store.ledger import LedgerStore
from comwit.store.results import AppResult, ShardResult, plan_id, write_result
from comwit.store.saved import SavedPlan, read_plan

ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Apply only shard I/N of the saved plan, as named in its matrix.",
    ),
]
ResultOption = Annotated[
    Path | None,
    typer.Option(
        "--result",
        metavar="FILE",
        help="Write what was done, per app, as JSON for `comwit report` (with PLANFILE).",
    ),
]


@command(TARGET, APPS, FORMAT, CONCURRENCY, VERBOSITY, TIMEOUT)
@noting_failure("apply")
def apply(
    settings: Settings,
    planfile: Annotated[
        Path | None, typer.Argument(help="A plan saved by `comwit plan --out`.", show_default=False)
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    allow_detach: AllowDetach = None,
    allow_delete_env: AllowDeleteEnv = None,
    allow_older: AllowOlder = False,
    lock_timeout: LockTimeout = 0.0,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=32, help="Apps applied at once.")
    ] = DEFAULT_PARALLEL,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when there was nothing to do, 2 when changes were applied, 1 on errors.",
        ),
    ] = False,
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
    shard: ShardOption = None,
    result_file: ResultOption = None,
) -> int:
    """Make the apps match the manifest: upload, roll back, bind and unbind, set env vars."""
    planning = bool(settings.include or settings.exclude or allow_detach or allow_delete_env)
    sharding = shard is not None or result_file is not None
    _refuse_misplaced(planfile, planning=planning, sharding=sharding)
    options = RunOptions(parallel, lock_timeout, allow_older)
    choice = CiChoice(comment, comment_on, no_summary)
    if planfile is not None:
        return _apply_file(
            settings, planfile, options, choice, detailed_exitcode, shard, result_file
        )
    target = load_target(settings)
    request = plan_request(
        settings,
        target,
        allow_detach=allow_detach,
        allow_delete_env=allow_delete_env,
        allow_older=allow_older,
    )
    plan, result = asyncio.run(_plan_and_apply(settings, target, request, options, yes))
    code = show_result(result, settings.output_format, settings.console, detailed=detailed_exitcode)
    after_apply(settings, plan, result, choice=choice)
    return code


def _refuse_misplaced(planfile: Path | None, *, planning: bool, sharding: bool) -> None:
    """Options of planning go with no saved plan, --shard and --result with one only."""
    if planfile is not None and planning:
        raise ComwitError(
            "a saved plan is applied exactly as planned: --app, --exclude-app, "
            "--allow-detach and --allow-delete-env belong to `comwit plan`"
        )
    if planfile is None and sharding:
        raise ComwitError(
            "--shard and --result work on a saved plan: `comwit plan --out FILE --shards N`, "
            "then `comwit apply FILE --shard I/N --result RESULT`"
        )


def _apply_file(
    settings: Settings,
    planfile: Path,
    options: RunOptions,
    choice: CiChoice,
    detailed: bool,
    shard: str | None,
    result_file: Path | None,
) -> int:
    """`apply PLANFILE`: the saved plan, or shard `shard` of it, exactly as planned; with
    `result_file`, what was done per app is written there for `comwit report`."""
    whole = saved = read_plan(planfile)
    shards: tuple[tuple[str, ...], ...] = ()
    if shard is not None:
        saved, shards = select_shard(whole, shard)
    settings = _settings_of_plan(settings, saved)
    target = load_target(settings)
    if result_file is not None:  # before any change: a result that cannot be kept is lost
        said = f"cannot write the result to {cut_path(result_file)}"
        refuse_inside_a_build_dir(result_file, target, said)  # before its directory is made
        _check_result_place(result_file, planfile, settings.manifest_file)
    record = _ResultFile(result_file, whole, shard, shards) if result_file is not None else None
    options = dataclasses.replace(options, timer=record.timer if record else None)
    result = asyncio.run(_apply_saved(settings, saved, target, options))
    code = show_result(result, settings.output_format, settings.console, detailed=detailed)
    if record is not None:
        record.write(result, code, settings.console)
    after_apply(settings, saved.plan, result, choice=choice)
    return code


def _settings_of_plan(settings: Settings, saved: SavedPlan) -> Settings:
    """The manifest, environment and project the plan was made for, unless given here."""
    return dataclasses.replace(
        settings,
        manifest_file=settings.manifest_file or Path(saved.manifest.path),
        env=settings.env or saved.manifest.environment,
        # COMWIT_PROJECT counts like --project: a plan for another project is refused.
        project=settings.chosen_project(saved.plan.project),
    )


def _check_result_place(path: Path, planfile: Path, manifest: Path | None) -> None:
    """ComwitError unless `--result FILE` can be written, and only over an earlier result
    (a rerun of the job) or an empty file: `--result PLAN.json` replaced the plan the other
    shards still needed, `--result comwit.toml` the manifest, `--result DIR` failed only
    after the shard was applied."""
    from comwit.errors import os_reason
    from comwit.store.files import create_beside, is_same_file, read_document
    from comwit.store.regular import NotRegularFile, require_regular
    from comwit.store.results import RESULT_FILE

    said = f"cannot write the result to {cut_path(path)}"
    if is_same_file(path, planfile):
        raise ComwitError(f"{said}: it is the saved plan being applied; pass another --result FILE")
    if manifest is not None and is_same_file(path, manifest):
        raise ComwitError(f"{said}: it is the manifest; pass another --result FILE")
    try:
        found = path.stat()
    except FileNotFoundError:
        found = None
    except ValueError:
        raise ComwitError(f"{said}: it holds a NUL character") from None
    except OSError as exc:
        raise ComwitError(f"{said}: {os_reason(exc)}") from None
    try:
        if found is not None:
            require_regular(path, found.st_mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = create_beside(path, ".tmp")  # the directory takes new files
        os.close(fd)
        probe.unlink()
    except NotRegularFile as exc:
        raise ComwitError(f"{said}: it {exc.reason}; pass a file name") from None
    except OSError as exc:
        raise ComwitError(f"{said}: {os_reason(exc)}") from None
    if found is not None and found.st_size:
        try:
            read_document(
                path, RESULT_FILE
            )  # its kind, not the whole model: a rerun writes over it
        except ComwitError:
            raise ComwitError(
                f"{said}: it holds something other than an earlier result; pass a new file"
            ) from None


@frozen
class _ResultFile:
    """`--result FILE`: what this run of a saved plan (one shard, or all of it) did, per app,
    timed from when the run began."""

    path: Path
    whole: SavedPlan
    shard: str | None
    shards: tuple[tuple[str, ...], ...]
    timer: TimedReporter = dataclasses.field(default_factory=TimedReporter)
    started: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    def write(self, result: ApplyResult, code: int, console: Console) -> None:
        apps = tuple(
            AppResult(outcome=o, seconds=self.timer.seconds.get(o.app)) for o in result.outcomes
        )
        document = ShardResult(
            plan_id=plan_id(self.whole.salt),
            manifest=self.whole.manifest.path,
            shard=self.shard,
            shards=self.shards,
            started=self.started.isoformat(timespec="seconds"),
            seconds=round(time.monotonic() - self.timer.started, 3),
            exit_code=code,
            apps=apps,
            hints=result.hints,
            plan=self.whole.plan,
        )
        write_result(self.path, document)
        console.info(f"Wrote the result to {self.path}; merge with `comwit report`.")


async def _plan_and_apply(
    settings: Settings, target: Target, request: PlanRequest, options: RunOptions, yes: bool
) -> tuple[Plan, ApplyResult]:
    async with connect(settings, target) as connection:
        store = ledger_store(target, connection)
        with WorkDir(target.loaded.root) as work:  # in .comwit/: a killed run's is cleaned up
            return await _apply_planned(
                settings, target, request, connection, store, options, yes, work.path
            )


async def _apply_planned(
    settings: Settings,
    target: Target,
    request: PlanRequest,
    connection: Connection,
    store: LedgerStore,
    options: RunOptions,
    yes: bool,
    work: Path,
) -> tuple[Plan, ApplyResult]:
    """Plan, packing what will be uploaded into `work` on the way, then apply. The token's
    write scopes are asked before anything is packed (a token short of one gets the plan
    digested only, then one error), and only when something is to be packed or changed."""
    missing: frozenset[str] | None = None

    async def scopes_held() -> bool:
        nonlocal missing
        missing = await missing_scopes(connection, target)
        return not missing

    planned = await plan_target(
        settings, target, connection, request, store, work, before_packing=scopes_held
    )
    if missing is None and planned.plan.has_changes:
        missing = await missing_scopes(connection, target)
    refuse_without_scopes(planned.plan, missing or frozenset())
    refuse_unwritable(planned.plan, store)
    show_applied_plan(planned.plan, settings)
    await complete_pending(settings, store, planned.observed.apps)
    if planned.plan.has_changes:
        await confirm(planned.plan, settings.console, yes)
    inputs = dataclasses.replace(
        run_inputs(target, planned.observed.apps, planned.env, packed=planned.packed),
        replan=functools.partial(plan_app_again, planned.desired, request.policy),
        replan_goes_on=True,  # Terraform's rule: a plan made here may be made again under the lock
    )
    result = await execute_plan(
        settings, planned.plan, inputs, connection, store, options, planned.guard
    )
    return planned.plan, result


async def _apply_saved(
    settings: Settings, saved: SavedPlan, target: Target, options: RunOptions
) -> ApplyResult:
    console = settings.console
    async with connect(settings, target) as connection:
        check_saved_plan(
            saved, target.loaded, project=target.project, api_url=api_identity(connection)
        )
        store = ledger_store(target, connection)
        rechecked = await recheck_saved_plan(
            saved, target.loaded, connection.client, store, settings.environ
        )
        inputs = dataclasses.replace(
            run_inputs(target, rechecked.observed.apps, rechecked.env),
            stale=rechecked.stale,
            resumed=frozenset(rechecked.resumed),
            replan=functools.partial(implied_app, saved, target.loaded, rechecked.env),
        )
        plan = rechecked.plan
        if plan.has_changes:
            refuse_without_scopes(plan, await missing_scopes(connection, target))
        console.info("Applying the saved plan:")
        for app in rechecked.resumed:
            console.info(f"{app}: an earlier run of this plan stopped part-way; applying the rest")
        show_applied_plan(plan, settings)
        await complete_pending(settings, store, rechecked.observed.apps)
        guard = order_guard(settings, target, options.allow_older)
        return await execute_plan(settings, plan, inputs, connection, store, options, guard)
