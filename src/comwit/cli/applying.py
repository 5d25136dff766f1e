"""Applying a plan from the command line, as `apply`, `preview` and `rollback` do: the
executor's inputs, the token's scopes asked first, the plan shown and confirmed, the run
under a lease (Ctrl-C and SIGTERM stop it cleanly), and what it did, with its exit code."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated

import typer

from comwit.api.connect import Connection
from comwit.api.credentials import MAX_WAIT_SECONDS
from comwit.apply.execute import DEFAULT_PARALLEL, Executor, Inputs
from comwit.apply.lease import LeasePolicy
from comwit.apply.result import ApplyResult
from comwit.apply.shard import TimedReporter
from comwit.apply.stop import Stop
from comwit.artifact.pack import PackResult
from comwit.cli.plan_cmds import show_plan
from comwit.cli.prompt import ask, catch_signals
from comwit.cli.session import Target
from comwit.cli.settings import OutputFormat, Settings
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_BUG, EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from comwit.frozen import frozen
from comwit.manifest.interpolate import Interpolated
from comwit.plan.actions import Plan
from comwit.plan.state import ObservedApp
from comwit.render.progress import make_reporter
from comwit.render.summary import render_summary, render_summary_json
from comwit.render.text import render_text
from comwit.source import OrderGuard, run_identity
from comwit.store.ledger import LedgerStore
from comwit.store.pending import PendingAwareStore

LockTimeout = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        max=MAX_WAIT_SECONDS,
        metavar="SECONDS",
        help="Wait this long for another run's lease on an app (0: fail at once, naming it).",
    ),
]


@frozen
class RunOptions:
    """How apply runs, beyond what it applies."""

    parallel: int = DEFAULT_PARALLEL
    lock_timeout: float = 0.0
    allow_older: bool = False
    timer: TimedReporter | None = None  # --result: note each app's time


def show_result(
    result: ApplyResult,
    output_format: OutputFormat,
    console: Console,
    *,
    detailed: bool = False,
) -> int:
    """Print what apply did. Exit 1 when any app failed or was skipped, 130 (Ctrl-C) or 143
    (SIGTERM) when a signal stopped it; with `detailed`, 2 when changes were applied."""
    if output_format is OutputFormat.json:
        console.print(render_summary_json(result))
    else:
        console.print(render_summary(result, console.style))
    if result.exit_code is not None:
        return result.exit_code
    if result.bug:
        return EXIT_BUG
    if not result.ok:
        return EXIT_ERROR
    return EXIT_CHANGES if detailed and result.changed else EXIT_OK


def run_inputs(
    target: Target,
    observed: Mapping[str, ObservedApp],
    env: Mapping[str, Mapping[str, Interpolated]] | None = None,
    *,
    packed: Mapping[str, PackResult] | None = None,
) -> Inputs:
    """What executing needs beside the plan: the manifest's project, root and `keep`, what
    was observed, the resolved ${VAR} values (none when deleting or rolling back) and what
    planning packed already."""
    return Inputs(
        project=target.project,
        root=target.loaded.root,
        env=env or {},
        observed=observed,
        keep=target.loaded.state.keep,
        packed=packed or {},
    )


async def missing_scopes(connection: Connection, target: Target) -> frozenset[str]:
    """The write scopes the token is known to lack (asked without changing anything)."""
    from comwit.api.scopes import write_scopes

    held = await write_scopes(connection.client, target.project)
    return frozenset(scope for scope, has in held.items() if has is False)


def refuse_without_scopes(plan: Plan, missing: frozenset[str]) -> None:
    """One error naming every missing scope and what needs it, before anything changes."""
    from comwit.plan.scopes import needed_scopes

    lacking = {s: what for s, what in sorted(needed_scopes(plan).items()) if s in missing}
    if not lacking:
        return
    names = " and ".join(lacking)
    uses = "; ".join(f"{scope} to {_listed(what)}" for scope, what in lacking.items())
    raise ComwitError(
        f"the token lacks {names}, which this plan needs ({uses}); nothing was changed: "
        f"apply with a token that has {names} (plan needs only project:read and app:read)"
    )


def refuse_unwritable(plan: Plan, store: LedgerStore) -> None:
    """A plan with changes is refused before anything changes when a ledger file is there
    but could not be read: recording in it would drop the records it holds."""
    if plan.has_changes:
        store.check_writable()


def _listed(items: list[str], shown: int = 4) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


async def execute_plan(
    settings: Settings,
    plan: Plan,
    inputs: Inputs,
    connection: Connection,
    store: LedgerStore,
    options: RunOptions,
    guard: OrderGuard,
) -> ApplyResult:
    """Run the executor under this run's lease (an app deleted takes its lease with it),
    recording in the command's ledger `store`; Ctrl-C and SIGTERM stop it cleanly.
    `guard` holds back what would make an older commit live, and its commit is recorded."""
    refuse_unwritable(plan, store)
    holder, run = run_identity(settings.environ)
    inputs = dataclasses.replace(
        inputs,
        source=guard.source,
        guard=guard.blocks,
        lease=LeasePolicy(holder, run, wait=options.lock_timeout),
    )
    reporter = make_reporter(settings.console)
    if options.timer is not None:
        reporter = options.timer.wrap(reporter)
    stop = Stop()
    try:
        executor = Executor(
            connection.client,
            store,
            inputs,
            reporter,
            parallel=options.parallel,
            stop=stop,
            clock=settings.clock,
            sleep=settings.sleep,
        )
        with catch_signals(stop, settings.console):
            return await executor.apply(plan)
    finally:
        reporter.close()


async def complete_pending(
    settings: Settings, store: LedgerStore, observed: Mapping[str, ObservedApp]
) -> None:
    """Write the ledger records an earlier run kept in .comwit/ because it could not."""
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


async def confirm(plan: Plan, console: Console, yes: bool) -> None:
    if yes:
        return
    if not console.interactive:
        raise ComwitError(
            "not applying: there is no terminal to confirm on; pass --yes, "
            "or apply a plan saved with `comwit plan --out FILE`"
        )
    question = f"\nApply these changes to project {plan.project}? Type 'yes' to go on: "
    if (await ask(question, console)).strip() != "yes":
        raise ComwitError("not applying: the changes were not confirmed")
