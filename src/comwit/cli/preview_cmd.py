"""`comwit preview up | down | prune`: a live copy of the apps per pull request.

`up` plans and applies the preview transform of the manifest with the same planner and
executor as `apply`; `down` and `prune` delete only apps whose ledger marks them as previews.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.connect import Connection
from comwit.apply.result import ApplyResult, Outcome
from comwit.apply.workdir import WorkDir
from comwit.cli.app import FullHelpGroup, help_without_command, typer_app
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
from comwit.cli.ci_options import (
    CiChoice,
    Comment,
    CommentOn,
    CommentWhen,
    NoSummary,
    after_apply,
)
from comwit.cli.session import (
    Target,
    concurrency,
    connect,
    ledger_store,
    load_target,
    plan_request,
    plan_target,
)
from comwit.cli.settings import (
    API,
    CONCURRENCY,
    FORMAT,
    INCLUDE,
    MANIFEST,
    TIMEOUT,
    VERBOSITY,
    OutputFormat,
    Settings,
    command,
)
from comwit.errors import ComwitError, PlanError
from comwit.exit_codes import EXIT_OK
from comwit.plan.actions import Plan
from comwit.plan.ledger import SourceCommit
from comwit.plan.state import ObservedApp
from comwit.planner import PlanRequest
from comwit.preview.claim import PreviewTarget, claim, created_apps, over_cap
from comwit.preview.find import observe_project
from comwit.preview.forge import closed_pull_requests
from comwit.preview.names import MAX_PR, preview_name
from comwit.preview.select import down_plan, marked, parse_duration, prune_plan, sparing
from comwit.preview.transform import preview_bases, preview_manifest, production_hosts
from comwit.render.describe import describe
from comwit.render.previews import PreviewRow, render_previews
from comwit.source import OrderGuard
from comwit.store.ledger import LedgerStore

PullRequest = Annotated[
    int | None,
    typer.Option(
        "--pr",
        min=1,
        max=MAX_PR,
        metavar="N",
        help="The pull request number (default: the CI run's pull request).",
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")]
OlderThan = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        metavar="AGE",
        help="Delete previews not deployed for this long, e.g. 7d, 12h, 2w "
        "(default: the manifest's [preview] older_than, else 7d).",
    ),
]
Keep = Annotated[
    list[int] | None,
    typer.Option(
        "--keep",
        min=1,
        max=MAX_PR,
        metavar="PR",
        help="Spare this pull request's previews (repeatable).",
    ),
]


@command(MANIFEST, API, INCLUDE, FORMAT, CONCURRENCY, VERBOSITY, TIMEOUT)
def up(
    settings: Settings,
    pr: PullRequest = None,
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
    lock_timeout: LockTimeout = 0.0,
) -> int:
    """Create or update pull request N's preview apps ({app}-pr-{N}), plan first, then apply."""
    pr = _pull_request(settings, pr)
    base = load_target(settings)
    loaded = preview_manifest(base.loaded, pr, settings.include)
    bases = {preview_name(b.name, pr): b.name for b in preview_bases(base.loaded, settings.include)}
    target = Target(loaded, base.project)
    preview = PreviewTarget(pr, bases, production_hosts(base.loaded), base.loaded.preview.max_apps)
    options = RunOptions(lock_timeout=lock_timeout)
    plan, result, table = asyncio.run(_up(settings, target, preview, options))
    code = show_result(result, settings.output_format, settings.console)
    _after(settings, plan, result, CiChoice(comment, comment_on, no_summary), table)
    return code


async def _up(
    settings: Settings, target: Target, preview: PreviewTarget, options: RunOptions
) -> tuple[Plan, ApplyResult, str]:
    # The --app globs chose the base apps already: plan every preview app.
    request = replace(plan_request(settings, target), include=(), exclude=())
    async with connect(settings, target) as connection:
        with WorkDir(target.loaded.root) as work:
            return await _up_planned(
                settings, target, preview, request, connection, work.path, options
            )


async def _up_planned(
    settings: Settings,
    target: Target,
    preview: PreviewTarget,
    request: PlanRequest,
    connection: Connection,
    work: Path,
    options: RunOptions,
) -> tuple[Plan, ApplyResult, str]:
    """Plan the preview apps (packing into `work`), claim them, apply; and their table."""
    store = ledger_store(target, connection)
    planned = await plan_target(settings, target, connection, request, store, work)
    now_ms = int(settings.clock() * 1000)
    claimed = claim(planned.plan, planned.observed.apps, preview, now_ms=now_ms)
    plan = _named_preview(claimed, preview.pr)
    await _refuse_over_cap(settings, target, connection, store, plan, preview.max_apps)
    show_applied_plan(plan, settings)
    await complete_pending(settings, store, planned.observed.apps)
    inputs = run_inputs(target, planned.observed.apps, planned.env, packed=planned.packed)
    result = await execute_plan(settings, plan, inputs, connection, store, options, planned.guard)
    rows = _rows(result, planned.observed.apps, planned.guard.source, int(settings.clock() * 1000))
    return plan, result, render_previews(rows)


def _named_preview(plan: Plan, pr: int) -> Plan:
    """The plan's environment says whose preview it is: "staging preview of #3"."""
    where = f"preview of #{pr}"
    environment = f"{plan.environment} {where}" if plan.environment else where
    return plan.model_copy(update={"environment": environment})


async def _refuse_over_cap(
    settings: Settings,
    target: Target,
    connection: Connection,
    store: LedgerStore,
    plan: Plan,
    max_apps: int,
) -> None:
    """A plan that creates preview apps is refused when they and the previews the project
    has (every app is read for its mark) would pass [preview] max_apps."""
    if not created_apps(plan):
        return
    everything = await observe_project(
        connection.client, target.project, store, concurrency(settings)
    )
    why = over_cap(plan, marked(everything.state.apps), max_apps)
    if why:
        raise PlanError(why)


@command(MANIFEST, API, FORMAT, CONCURRENCY, VERBOSITY, TIMEOUT)
def down(
    settings: Settings,
    pr: PullRequest = None,
    yes: Yes = False,
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
) -> int:
    """Delete pull request N's preview apps (only apps whose ledger marks them as previews)."""
    number = _pull_request(settings, pr)
    target = load_target(settings)
    choice = CiChoice(comment, comment_on, no_summary)

    def after(plan: Plan, result: ApplyResult) -> None:
        # The preview's own comment (up's marker: this environment's preview of #N) moves to
        # "applied": its apps deleted, so no reader follows a URL that is gone.
        named = _named_preview(plan.model_copy(update={"environment": target.loaded.env}), number)
        after_apply(settings, named, result, choice=choice)

    choose = partial(down_plan, target.project, pr=number)
    return _delete(settings, target, yes, choose, after=after)


@command(MANIFEST, API, FORMAT, CONCURRENCY, VERBOSITY, TIMEOUT)
def prune(
    settings: Settings,
    older_than: OlderThan = None,
    keep: Keep = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    yes: Yes = False,
) -> int:
    """Delete previews not deployed for --older-than, and in CI those of closed pull requests."""
    target = load_target(settings)
    try:
        age_ms = parse_duration(older_than or target.loaded.preview.older_than)
    except ValueError as exc:
        raise ComwitError(f"--older-than: {exc}") from None
    now_ms = int(settings.clock() * 1000)
    spared = tuple(keep or ())

    def choose(apps: Mapping[str, ObservedApp]) -> Plan:
        numbers = {a.ledger.preview.pr for a in marked(apps).values() if a.ledger.preview}
        closed = closed_pull_requests(settings.environ, settings.console, numbers)
        return prune_plan(
            target.project, apps, now_ms=now_ms, older_than_ms=age_ms, keep=spared, closed=closed
        )

    return _delete(settings, target, yes, choose, dry_run=dry_run)


def _delete(
    settings: Settings,
    target: Target,
    yes: bool,
    choose: Callable[[Mapping[str, ObservedApp]], Plan],
    *,
    dry_run: bool = False,
    after: Callable[[Plan, ApplyResult], None] | None = None,
) -> int:
    """Delete the marked previews `choose` picks, then `after` (the CI's channels); the exit
    code (0: nothing to delete)."""
    plan, result = asyncio.run(_deleting(settings, target, yes, choose, dry_run=dry_run))
    if result is None:  # a dry run, or no preview to delete: nothing was done
        if settings.output_format is OutputFormat.json:  # stdout holds its one document still
            show_result(_not_deleted(plan), settings.output_format, settings.console)
        return EXIT_OK
    code = show_result(result, settings.output_format, settings.console)
    if after is not None:
        after(plan, result)
    return code


def _not_deleted(plan: Plan) -> ApplyResult:
    """A dry run's report: each app the plan would delete, not started, saying what it would
    do; a reader of the JSON learns what a real run would remove."""
    outcomes = []
    for app in plan.apps:
        would = "; ".join(describe(action).text for action in app.actions)
        outcomes.append(Outcome(app.app, "not_started", f"dry run: would {would}"))
    return ApplyResult(tuple(outcomes))


async def _deleting(
    settings: Settings,
    target: Target,
    yes: bool,
    choose: Callable[[Mapping[str, ObservedApp]], Plan],
    *,
    dry_run: bool,
) -> tuple[Plan, ApplyResult | None]:
    """Observe every app, delete the marked previews `choose` picks (None: nothing run)."""
    async with connect(settings, target) as connection:
        store = ledger_store(target, connection)
        observation = await observe_project(
            connection.client, target.project, store, concurrency(settings)
        )
        for warning in observation.warnings:
            settings.console.warn(warning)
        plan, spared = sparing(choose(observation.state.apps), target.loaded.apps)
        for name in spared:
            mark = observation.state.apps[name].ledger.preview
            assert mark is not None  # chosen for its mark
            settings.console.warn(
                f"left {name} alone: the manifest names it as an app of its own, though its "
                f"ledger still marks it as the preview of {mark.base} for pull request "
                f"#{mark.pr}"
            )
        show_applied_plan(plan, settings)
        if dry_run or not plan.has_changes:
            return plan, None
        await confirm(plan, settings.console, yes)
        inputs = run_inputs(target, observation.state.apps)
        # Deleting makes no build live: no commit to record, nothing to hold back.
        unordered = OrderGuard(target.loaded.root, source=None)
        result = await execute_plan(
            settings, plan, inputs, connection, store, RunOptions(), unordered
        )
        return plan, result


def _pull_request(settings: Settings, given: int | None) -> int:
    """--pr, else the pull request of the CI run (GitHub Actions, GitLab CI)."""
    if given is not None:
        return given
    from comwit.ci.environment import detect

    found = detect(settings.environ).pull_request
    if found is None:
        raise ComwitError("no pull request: pass --pr N (this run is not for a pull request)")
    return found


def _rows(
    result: ApplyResult,
    observed: Mapping[str, ObservedApp],
    source: SourceCommit | None,
    now_ms: int,
) -> list[PreviewRow]:
    """Each preview: deployed by this run (its commit, now), or as its mark says."""
    rows = []
    for outcome in result.outcomes:
        have = observed.get(outcome.app)
        mark = have.ledger.preview if have is not None else None
        updated: int | None
        if outcome.status == "done":
            commit, updated = (source.short if source else None), now_ms
        else:
            commit = mark.commit[:7] if mark and mark.commit else None
            updated = mark.deployed_ms if mark else None
        rows.append(PreviewRow(outcome.app, outcome.url, commit, updated))
    return rows


def _after(
    settings: Settings, plan: Plan, result: ApplyResult, choice: CiChoice, table: str
) -> None:
    """The CI's channels: the preview's own living comment (its marker names the preview as
    the environment, so the plan's comment stays), the `preview-urls` output, job summary."""
    urls = json.dumps(dict(sorted(result.urls.items())), separators=(",", ":"))
    after_apply(
        settings, plan, result, choice=choice, outputs={"preview-urls": urls}, previews=table
    )


def _group(ctx: typer.Context) -> None:
    """A live copy of the apps per pull request: up, down, prune."""
    help_without_command(ctx)


preview = typer_app(cls=FullHelpGroup)
preview.callback(invoke_without_command=True)(_group)
preview.command()(up)
preview.command()(down)
preview.command()(prune)
