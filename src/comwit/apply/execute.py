"""Execute a plan: apps concurrently (bounded), each app's actions in plan order.

Per app: prepare (pack the build dir and check its digest) before the first mutation; then
take the app's lease, check that no other run changed the app since the plan and that its
live build does not come from a newer commit (see `recheck`: one that did may leave the app
unchanged, or planned again); then one handler per action; release the lease. A saved
plan is checked against the API before any app starts (see `stale`).
A failing app stops only itself; the result says what each app did. A stop request lets
in-flight calls finish within a grace period and starts nothing new.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from comwit.api.assumed import DOMAIN_ACTIVE
from comwit.api.client import ComwitClient
from comwit.apply.actions import Artifact, Handlers, Prepared, prepared
from comwit.apply.handoff import Handoffs
from comwit.apply.lease import AppLease, LeasePolicy
from comwit.apply.recheck import AlreadyDone, Recheck, Replan, Skip, ToRun
from comwit.apply.reporter import Reporter
from comwit.apply.result import ApplyResult, Outcome, live_url
from comwit.apply.stop import Stop, Stopped
from comwit.apply.workdir import WorkDir
from comwit.artifact.pack import PackResult
from comwit.errors import (
    ApiError,
    ApiStatusError,
    ApplyError,
    ArtifactError,
    ComwitError,
    ForbiddenError,
    StalePlanError,
)
from comwit.frozen import frozen
from comwit.manifest.interpolate import Interpolated
from comwit.plan.actions import AppPlan, CreateApp, DeleteApp, Deploy, Plan, RecordLedger
from comwit.plan.ledger import AppLedger, PreviewMark, PreviewOf, SourceCommit, Upload
from comwit.plan.ordering import skip_reason
from comwit.plan.state import ObservedApp
from comwit.store.ledger import LedgerStore, LedgerWriteError

DEFAULT_PARALLEL = 4
T = TypeVar("T")
Guard = Callable[[AppLedger, str | None], str | None]  # why not to replace the live build
_RELEASE_WAIT = 10.0


@frozen
class Inputs:
    """What executing needs beyond the plan itself."""

    project: str
    root: Path  # build dirs in the plan are relative to it
    env: Mapping[str, Mapping[str, Interpolated]]  # resolved ${VAR} values, by app
    observed: Mapping[str, ObservedApp]  # what the plan read (a saved plan: read again)
    keep: int = 50
    level: int = 3
    stale: Mapping[str, str] = field(default_factory=dict)  # app -> why its saved plan is stale
    resumed: frozenset[str] = frozenset()  # apps an interrupted run of the saved plan changed
    source: SourceCommit | None = None  # the commit this run deploys, recorded in the ledger
    packed: Mapping[str, PackResult] = field(default_factory=dict)  # app -> packed by the plan
    guard: Guard | None = None  # never older over newer (None: not checked)
    lease: LeasePolicy | None = None  # None: no lease is taken
    replan: Replan | None = None  # None: a live build changed since the plan skips the app
    replan_goes_on: bool = False  # a plain apply: the same changes, planned again, go on


@dataclass
class Executor:
    client: ComwitClient
    store: LedgerStore
    inputs: Inputs
    reporter: Reporter
    parallel: int = DEFAULT_PARALLEL
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # waits for another run's lease
    stop: Stop = field(default_factory=Stop)
    _limit: asyncio.Semaphore = field(init=False)
    _handoffs: Handoffs = field(init=False)

    async def apply(self, plan: Plan) -> ApplyResult:
        self._limit = asyncio.Semaphore(self.parallel)
        # A connection for each app in flight (its steps mostly send one request at a time);
        # lease renewals take the pool's reserve when every other one is busy (`api.pool`).
        self.client.keep_connections(self.parallel)
        self._handoffs = Handoffs(plan)
        with WorkDir(self.inputs.root) as work:  # in .comwit/: a killed run's is cleaned up
            tasks = [asyncio.create_task(self._bounded(app, work.path)) for app in plan.apps]
            watcher = asyncio.create_task(self.stop.cancel_after_grace(list(tasks)))
            try:
                outcomes = await asyncio.gather(*tasks)
            finally:
                watcher.cancel()
        code = self.stop.exit_code if self.stop.requested else None
        return ApplyResult(tuple(outcomes), exit_code=code)

    async def _bounded(self, app: AppPlan, work: Path) -> Outcome:
        if app.error:
            return Outcome(app.app, "skipped", f"not applied: {app.error}")
        if not app.actions and app.app in self.inputs.resumed:
            return self._done_before(app)
        if not app.actions:
            return Outcome(app.app, "unchanged", url=self._unchanged_url(app))
        if app.app in self.inputs.stale:
            return Outcome(app.app, "skipped", f"stale plan: {self.inputs.stale[app.app]}")
        observed = self.inputs.observed.get(app.app)
        older = self._older(observed.ledger, observed.active_build_id) if observed else None
        if older:
            return Outcome(app.app, "skipped", older)
        try:
            async with self._limit:
                if self.stop.requested:
                    return _not_started(app.app)
                return await self._apply_app(app, work)
        except asyncio.CancelledError:  # stopped before it got a slot
            return _not_started(app.app)
        finally:  # whatever happened, apps waiting for its hostnames go on
            self._handoffs.settle(app)

    async def _apply_app(self, app: AppPlan, work: Path) -> Outcome:
        handlers = Handlers(
            self.client,
            self.store,
            self.inputs.project,
            self.reporter,
            app.app,
            self._handoffs,
            self._unslotted,
            self.inputs.source,
            self.stop,
        )
        try:
            ready = await self._prepare(app, work, handlers)
        except StalePlanError as exc:
            return Outcome(app.app, "skipped", f"stale plan: {exc}")
        except (Stopped, asyncio.CancelledError):
            return _not_started(app.app)
        except ComwitError as exc:
            return Outcome(app.app, "failed", str(exc))
        try:
            await self._run(app, ready, handlers)
        except Skip as exc:
            return handlers.outcome("skipped", str(exc))
        except AlreadyDone as exc:
            return replace(handlers.outcome("unchanged", str(exc)), url=exc.url)
        except Stopped:
            return _stopped(handlers, "stopped before its next step")
        except asyncio.CancelledError:
            return _stopped(handlers, "cancelled in the middle of a step")
        except (ApiError, ApplyError, ArtifactError) as exc:
            return handlers.outcome("failed", str(exc))
        except Exception as exc:  # a bug: report this app as failed, let the others finish
            detail = f"comwit hit a bug ({type(exc).__name__}: {exc}); please report it"
            return replace(handlers.outcome("failed", detail), bug=True)
        finally:
            if ready.artifact is not None:
                ready.artifact.path.unlink(missing_ok=True)
        return handlers.outcome("done")

    def _done_before(self, app: AppPlan) -> Outcome:
        """An app that an interrupted run of this saved plan left with nothing more to do."""
        observed = self.inputs.observed.get(app.app)
        build = observed.active_build_id if observed else None
        detail = "applied by an earlier run of this plan"
        return Outcome(app.app, "done", detail, build_id=build, url=self._unchanged_url(app))

    def _preview_mark(self, app: AppPlan) -> PreviewMark | None:
        """The preview mark its lease carries to a preview app that has none yet."""
        of = _preview_of(app)
        if of is None:
            return None
        now_ms = int(self.clock() * 1000)
        commit = self.inputs.source.sha if self.inputs.source is not None else None
        return PreviewMark(of.base, of.pr, commit, now_ms, now_ms)

    def _unchanged_url(self, app: AppPlan) -> str | None:
        """An unchanged app's URL, from what was observed of it."""
        observed = self.inputs.observed.get(app.app)
        if observed is None:
            return None
        active = [host.name for host in observed.hosts if host.status == DOMAIN_ACTIVE]
        return live_url(observed.default_url, active)

    async def _run(self, app: AppPlan, ready: Prepared, handlers: Handlers) -> None:
        """The app's actions, under its lease (taken once the app exists: after its
        CreateApp, which comes first when it has one; a deleted app's goes with its ledger
        when the app holds that)."""
        lease: AppLease | None = None
        renewing: asyncio.Task[None] | None = None
        gone = False
        created = app.actions[:1] if app.actions and isinstance(app.actions[0], CreateApp) else ()
        try:
            for action in created:
                self.stop.check()
                await handlers.run(action, ready)
            rest = app.actions[len(created) :]
            if rest:
                lease, run = await self._lease(app, ready, handlers)
                renewing = asyncio.create_task(lease.keep_renewed()) if lease else None
                if run.replanned:
                    rest, ready = run.app.actions, run.ready
            for action in rest:
                if not isinstance(action, RecordLedger):  # a deploy's record always follows it
                    self.stop.check()
                await handlers.run(action, ready)
                if isinstance(action, DeleteApp):
                    gone = self.store.goes_with_app  # its ledger, lease and all, went with it
        finally:
            if renewing is not None:
                renewing.cancel()
            if lease is not None and not gone:
                await _release(lease, handlers)

    async def _lease(
        self, app: AppPlan, ready: Prepared, handlers: Handlers
    ) -> tuple[AppLease | None, ToRun]:
        """Take the app's lease, then re-check the app: the plan may be out of date by now;
        the lease, and what runs under it (the plan, or the plan made again)."""
        app_id = handlers.app_id(ready)
        lease = None
        fresh = ready.ledger
        if self.inputs.lease is not None:
            lease = AppLease(
                self.store,
                app.app,
                app_id,
                self.inputs.lease,
                clock=self.clock,
                sleep=self.sleep,
                waiting=lambda text: self.reporter.step(app.app, text),
                upload=_upload(app, ready),
                preview=self._preview_mark(app),
            )
            try:
                fresh = await lease.acquire()
            except ForbiddenError:
                lease = None  # app:deploy alone can deploy, but not write the ledger
                handlers.warn(
                    "changed without its apply lease: the token lacks the app:write scope "
                    "(another run could have changed the app at the same time)"
                )
            except (ApiStatusError, LedgerWriteError) as exc:  # the ledger is advisory
                lease = None
                handlers.warn(
                    f"changed without its apply lease: it could not be written ({exc}); "
                    "another run could have changed the app at the same time"
                )
        run = ToRun(app, ready)
        try:
            if app.preconditions.exists:
                run = await self._recheck().under_lease(app, app_id, ready, fresh)
            if run.replanned:
                handlers.note(
                    f"planned again under its lease from build {run.live}, which "
                    "another run made live since the plan: the same changes"
                )
                if lease is not None:  # what it uploads starts from that build now
                    await lease.restate(_upload(run.app, run.ready))
            if lease is not None:
                await lease.confirm()  # a run that wrote its lease just after ours shows by now
        except BaseException:
            if lease is not None:
                await _release(lease, handlers)
            raise
        return lease, run

    def _recheck(self) -> Recheck:
        inputs = self.inputs
        return Recheck(
            self.client,
            self.store,
            inputs.project,
            self._older,
            replan=inputs.replan,
            goes_on=inputs.replan_goes_on,
        )

    def _older(self, ledger: AppLedger, live: str | None) -> str | None:
        why = self.inputs.guard(ledger, live) if self.inputs.guard else None
        return skip_reason(why) if why else None

    async def _unslotted(self, waiting: Awaitable[T]) -> T:
        """Wait without holding one of the `parallel` slots, so the awaited app can run."""
        self._limit.release()
        try:
            return await waiting
        finally:
            await self._limit.acquire()

    async def _prepare(self, app: AppPlan, work: Path, handlers: Handlers) -> Prepared:
        """Everything that can fail without changing anything: packing, checked."""
        observed = self.inputs.observed.get(app.app)
        deploy = _deploy_of(app)
        artifact = None
        early = self.inputs.packed.get(app.app)
        if deploy is not None and early is not None and early.tree.digest == deploy.digest:
            artifact = Artifact(early.path, early.size)  # packed while planning: read once
        elif deploy is not None:
            out = work / f"{app.app}.tar.zst"
            artifact = await handlers.pack(deploy, self.inputs.root, out, self.inputs.level)
        return prepared(
            observed,
            values={k: v.value for k, v in self.inputs.env.get(app.app, {}).items()},
            keep=self.inputs.keep,
            now_ms=int(self.clock() * 1000),
            artifact=artifact,
        )


async def _release(lease: AppLease, handlers: Handlers) -> None:
    """Release even when cancelled; a failed release leaves a lease that expires on its own."""
    try:
        async with asyncio.timeout(_RELEASE_WAIT):
            await lease.release()
    except (ComwitError, OSError, TimeoutError) as exc:
        handlers.warn(f"could not release its apply lease ({exc}); it expires on its own")
    if lease.lost:
        handlers.warn(lease.lost)


def _upload(app: AppPlan, ready: Prepared) -> Upload | None:
    """What the app's deploy will send, kept with its lease until the ledger records it."""
    deploy = _deploy_of(app)
    if deploy is None or ready.artifact is None:
        return None
    options = deploy.options
    return Upload(
        deploy.digest,
        ready.artifact.size,
        ready.live_before,
        options.env_ref,
        options.max_concurrent_requests,
    )


def _preview_of(app: AppPlan) -> PreviewOf | None:
    """What the app is the preview of, when its plan marks it as one."""
    return next((a.preview for a in app.actions if isinstance(a, RecordLedger) and a.preview), None)


def _deploy_of(app: AppPlan) -> Deploy | None:
    """The app's deploy, when its plan has one (at most one)."""
    return next((a for a in app.actions if isinstance(a, Deploy)), None)


def _not_started(app: str) -> Outcome:
    return Outcome(app, "not_started", "not started: apply was interrupted")


def _stopped(handlers: Handlers, how: str) -> Outcome:
    return handlers.outcome("interrupted", f"interrupted: {how}; run apply again")
