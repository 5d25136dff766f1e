"""Execute a plan: apps concurrently (bounded), each app's actions in plan order.

Per app: prepare (pack the build dir and check its digest) before the first mutation, then
one handler per action. A saved plan is checked against the API before any app starts
(see `stale`).
A failing app stops only itself; the result says what each app did.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from comwit.api.assumed import DOMAIN_ACTIVE
from comwit.api.client import ComwitClient
from comwit.apply.actions import Artifact, Handlers, Prepared, prepared
from comwit.apply.handoff import Handoffs
from comwit.apply.reporter import Reporter
from comwit.apply.result import ApplyResult, Outcome, live_url
from comwit.artifact.pack import PackResult
from comwit.errors import ApiError, ApplyError, ArtifactError, ComwitError, StalePlanError
from comwit.manifest.interpolate import Interpolated
from comwit.plan.actions import AppPlan, Deploy, Plan
from comwit.plan.ledger import SourceCommit
from comwit.plan.state import ObservedApp
from comwit.store.ledger import LedgerStore

DEFAULT_PARALLEL = 4
T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    """What executing needs beyond the plan itself."""

    project: str
    root: Path  # build dirs in the plan are relative to it
    env: Mapping[str, Mapping[str, Interpolated]]  # resolved ${VAR} values, by app
    observed: Mapping[str, ObservedApp]  # what the plan read (a saved plan: read again)
    keep: int = 50
    level: int = 3
    stale: Mapping[str, str] = field(default_factory=dict)  # app -> why its saved plan is stale
    source: SourceCommit | None = None  # the commit this run deploys, recorded in the ledger
    packed: Mapping[str, PackResult] = field(default_factory=dict)  # app -> packed by the plan


@dataclass
class Executor:
    client: ComwitClient
    store: LedgerStore
    inputs: Inputs
    reporter: Reporter
    parallel: int = DEFAULT_PARALLEL
    clock: Callable[[], float] = time.time
    _limit: asyncio.Semaphore = field(init=False)
    _handoffs: Handoffs = field(init=False)

    async def apply(self, plan: Plan) -> ApplyResult:
        self._limit = asyncio.Semaphore(self.parallel)
        self._handoffs = Handoffs(plan)
        with tempfile.TemporaryDirectory(prefix="comwit-") as work:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._bounded(app, plan, Path(work))) for app in plan.apps
                ]
        return ApplyResult(tuple(task.result() for task in tasks))

    async def _bounded(self, app: AppPlan, plan: Plan, work: Path) -> Outcome:
        if app.error:
            return Outcome(app.app, "skipped", f"not applied: {app.error}")
        if not app.actions:
            return Outcome(app.app, "unchanged", url=self._unchanged_url(app))
        if app.app in self.inputs.stale:
            return Outcome(app.app, "skipped", f"stale plan: {self.inputs.stale[app.app]}")
        async with self._limit:
            try:
                return await self._apply_app(app, work)
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
        )
        try:
            ready = await self._prepare(app, work, handlers)
        except StalePlanError as exc:
            return Outcome(app.app, "skipped", f"stale plan: {exc}")
        except ComwitError as exc:
            return Outcome(app.app, "failed", str(exc))
        try:
            for action in app.actions:
                await handlers.run(action, ready)
        except (ApiError, ApplyError, ArtifactError) as exc:
            return handlers.outcome(app.app, "failed", str(exc))
        except Exception as exc:  # a bug: report this app as failed, let the others finish
            detail = f"comwit hit a bug ({type(exc).__name__}: {exc}); please report it"
            return replace(handlers.outcome(app.app, "failed", detail), bug=True)
        finally:
            if ready.artifact is not None:
                ready.artifact.path.unlink(missing_ok=True)
        return handlers.outcome(app.app, "done")

    def _unchanged_url(self, app: AppPlan) -> str | None:
        """An unchanged app's URL, from what was observed of it."""
        observed = self.inputs.observed.get(app.app)
        if observed is None:
            return None
        active = [host.name for host in observed.hosts if host.status == DOMAIN_ACTIVE]
        return live_url(observed.default_url, active)

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
        deploy = next((a for a in app.actions if isinstance(a, Deploy)), None)
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
