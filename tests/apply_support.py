"""The executor against the real emulator app in this process: a project directory, plans made
by the real planner, and a transport that records the order and overlap of the requests."""

from __future__ import annotations

import asyncio
import functools
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from comwit.api.client import ComwitClient
from comwit.apply.execute import Executor, Inputs
from comwit.apply.reporter import QuietReporter
from comwit.apply.result import ApplyResult
from comwit.apply.stale import recheck_saved_plan
from comwit.apply.stop import Stop
from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES
from comwit.manifest import load_manifest
from comwit.plan.actions import Plan
from comwit.plan.diff import Policy
from comwit.planner import Planned, PlanRequest, make_plan, open_ledger_store, plan_app_again
from comwit.secret import Secret
from comwit.store.saved import ManifestRef, SavedPlan, saved_plan

from tests.factories import no_commit_guard

PROJECT = "proj"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on; keeps `METHOD /path` of each, in the order they were sent, and the
    most requests of one route template that were in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[str] = []
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.fail: Callable[[httpx.Request], BaseException | None] = lambda request: None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        route = _route(request)
        self.in_flight[route] = self.in_flight.get(route, 0) + 1
        self.most_in_flight[route] = max(self.most_in_flight.get(route, 0), self.in_flight[route])
        try:
            failure = self.fail(request)
            if failure is not None:
                raise failure
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight[route] -= 1

    def mutations(self) -> list[str]:
        """The mutating calls, as `METHOD last-path-part` (ids replaced by their kind)."""
        return [_shape(each) for each in self.sent if each.startswith(MUTATING)]


def _route(request: httpx.Request) -> str:
    return f"{request.method} {_shape(request.url.path)}"


def _shape(call: str) -> str:
    parts = call.split("/")
    return "/".join("{id}" if p.startswith(("app-", "build-")) else p for p in parts)


@dataclass
class Site:
    """A project directory and an in-process emulator; `apply` plans and executes."""

    root: Path
    emulator: InProcessEmulator
    token: str
    transport: Recording = field(init=False)

    def __post_init__(self) -> None:
        self.transport = Recording(self.emulator.transport)

    def manifest(self, text: str) -> None:
        (self.root / "comwit.toml").write_text(textwrap.dedent(text))

    def write(self, relative: str, content: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)

    def plan(self, **policy: tuple[str, ...]) -> Planned:
        return asyncio.run(self._with_client(lambda client: self._plan(client, policy)))

    def apply(
        self,
        *,
        parallel: int = 4,
        between: Callable[[Planned], None] | None = None,
        saved: bool = False,
        stop: Stop | None = None,
        replan: bool = False,
        **policy: tuple[str, ...],
    ) -> tuple[Plan, ApplyResult]:
        """Plan, then execute the plan. `between` runs in between (to change things under
        the plan); `saved` executes it as a saved plan is (each app re-read first); `stop`
        is the executor's (request it to stop the run part-way); `replan`: an app whose live
        build changed since the plan is planned again, as a plain `comwit apply` does."""

        async def run(client: ComwitClient) -> tuple[Plan, ApplyResult]:
            planned = await self._plan(client, policy)
            kept = _saved(planned, self.emulator.url) if saved else None
            if between is not None:
                await asyncio.to_thread(between, planned)
            result = await self.execute(
                client, planned, parallel, saved=kept, stop=stop, replan=replan
            )
            return planned.plan, result

        return asyncio.run(self._with_client(run))

    async def execute(
        self,
        client: ComwitClient,
        planned: Planned,
        parallel: int,
        *,
        saved: SavedPlan | None = None,
        stop: Stop | None = None,
        replan: bool = False,
    ) -> ApplyResult:
        loaded = load_manifest(self.root / "comwit.toml")
        store = open_ledger_store(loaded.state, client, PROJECT)
        plan = planned.plan
        if saved is None:
            inputs = Inputs(
                project=PROJECT,
                root=loaded.root,
                env=planned.env,
                observed=planned.observed.apps,
                keep=loaded.state.keep,
                replan=functools.partial(plan_app_again, planned.desired, Policy())
                if replan
                else None,
                replan_goes_on=replan,
            )
        else:
            rechecked = await recheck_saved_plan(saved, loaded, client, store, {})
            inputs = Inputs(
                project=PROJECT,
                root=loaded.root,
                env=rechecked.env,
                observed=rechecked.observed.apps,
                keep=loaded.state.keep,
                stale=rechecked.stale,
                resumed=frozenset(rechecked.resumed),
            )
            plan = rechecked.plan
        executor = Executor(
            client,
            store,
            inputs,
            QuietReporter(),
            parallel=parallel,
            stop=stop if stop is not None else Stop(),
        )
        return await executor.apply(plan)

    async def _plan(self, client: ComwitClient, policy: dict[str, tuple[str, ...]]) -> Planned:
        loaded = load_manifest(self.root / "comwit.toml")
        request = PlanRequest(
            project=PROJECT,
            policy=Policy(policy.get("allow_detach", ()), policy.get("allow_delete_env", ())),
        )
        return await make_plan(
            loaded,
            client,
            request,
            environ={},
            make_guard=lambda: no_commit_guard(self.root),
            store=open_ledger_store(loaded.state, client, PROJECT),
        )

    async def _with_client(self, body: Callable[[ComwitClient], Any]) -> Any:
        client = ComwitClient(
            self.emulator.url, Secret(self.token), transport=self.transport, timeout=10
        )
        async with client:
            return await body(client)

    # -- the emulator's side ------------------------------------------------------------

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request(method, f"/_emulator/{path}", body).json()

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request(method, f"/v1/projects/{PROJECT}/{path}", body, self.token).json()

    def app(self, name: str) -> dict[str, Any]:
        return next(a for a in self.api("GET", "apps")["apps"] if a["name"] == name)

    def builds(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api("GET", f"apps/{self.app(name)['app_id']}/builds")[
            "builds"
        ]
        return found

    def env(self, name: str) -> dict[str, str]:
        listed = self.api("GET", f"apps/{self.app(name)['app_id']}/environment")
        return {each["key"]: each.get("value") for each in listed["variables"]}

    def hosts(self, name: str) -> dict[str, str]:
        listed = self.api("GET", f"apps/{self.app(name)['app_id']}/domains")
        return {each["domain"]: each["status"] for each in listed["domains"]}

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}

        async def send() -> httpx.Response:
            transport = self.emulator.transport
            async with httpx.AsyncClient(transport=transport, base_url=self.emulator.url) as http:
                response = await http.request(method, path, json=body, headers=headers)
                await response.aread()
                return response

        response = asyncio.run(send())
        response.raise_for_status()
        return response


def _saved(planned: Planned, url: str) -> SavedPlan:
    ref = ManifestRef(path="comwit.toml", digest="-", environment=None)
    return saved_plan(planned, api_url=url, manifest=ref, salt="0" * 32)


def make_site(tmp_path: Path, emulator: InProcessEmulator) -> Site:
    root = tmp_path / "repo"
    root.mkdir()
    return Site(root, emulator, emulator.issue_token(SCOPES, [PROJECT]))
