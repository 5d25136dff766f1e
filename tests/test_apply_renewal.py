"""A lease is renewed while its app is applied, even when every connection of the pool is held
by an upload: the executor against the emulator over loopback HTTP, with comwit's own pool."""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.api.pool import ConnectionPool
from comwit.apply.execute import Executor, Inputs
from comwit.apply.lease import LeasePolicy
from comwit.apply.reporter import QuietReporter
from comwit.emulator.server import serve_in_thread
from comwit.emulator.store import SCOPES
from comwit.manifest import load_manifest
from comwit.plan import LEDGER_ENV_KEY
from comwit.plan.ledger import decode
from comwit.planner import PlanRequest, make_plan, open_ledger_store
from comwit.secret import Secret

from tests.factories import no_commit_guard

pytestmark = pytest.mark.timeout(60)

PROJECT = "proj"
APPS = ("a", "b")  # applied at once: both uploads held together
TTL = 1.5  # seconds: renewed every half second
WAIT = 15.0  # for the uploads to be held, then for each lease to be renewed


def _project(root: Path) -> Path:
    lines = [f'version = 1\nproject = "{PROJECT}"\n']
    for name in APPS:
        lines.append(f'[apps.{name}]\nbuild_dir = "{name}"\n')
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text(name)
    (root / "comwit.toml").write_text("".join(lines))
    return root / "comwit.toml"


async def _until(seconds: float, ready) -> bool:
    """Poll `ready` (a coroutine function) until it says True, for `seconds` at the most."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await ready():
            return True
        await asyncio.sleep(0.05)
    return False


class _Side:
    """The emulator as the test sees it, on its own connections (not the pool under test)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def held(self) -> int:
        faults = (await self.http.get("/_emulator/faults")).raise_for_status().json()
        return int(faults["held"])

    async def leases(self) -> dict[str, int | None]:
        """Each app's lease expiry (ms), as its ledger holds it now."""
        path = f"/v1/projects/{PROJECT}/apps"
        listed = (await self.http.get(path)).raise_for_status().json()["apps"]
        found: dict[str, int | None] = {}
        for app in listed:
            env = (await self.http.get(f"{path}/{app['app_id']}/environment")).json()
            value = next(v["value"] for v in env["variables"] if v["key"] == LEDGER_ENV_KEY)
            lease = decode(value).lease
            found[app["name"]] = lease.expires_ms if lease else None
        return found


def test_each_lease_is_renewed_while_every_connection_of_the_pool_carries_a_held_upload(tmp_path):
    manifest = _project(tmp_path / "repo")

    async def go(url: str, token: str):
        loaded = load_manifest(manifest)
        pool = ConnectionPool(size=1)  # --concurrency 1: the executor sizes it for its apps
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            ComwitClient(url, Secret(token), transport=pool, timeout=10) as client,
            httpx.AsyncClient(base_url=url, headers=auth, timeout=10) as http,
        ):
            side = _Side(http)
            request = PlanRequest(project=PROJECT)
            guard = functools.partial(no_commit_guard, loaded.root)
            store = open_ledger_store(loaded.state, client, PROJECT)
            planned = await make_plan(
                loaded, client, request, environ={}, make_guard=guard, store=store
            )
            inputs = Inputs(
                project=PROJECT,
                root=loaded.root,
                env=planned.env,
                observed=planned.observed.apps,
                lease=LeasePolicy("ci@test", "https://ci.example/runs/1", ttl=TTL),
            )
            executor = Executor(client, store, inputs, QuietReporter(), parallel=len(APPS))
            hold = {"route": "deploy", "ms": int(WAIT * 3000), "hold": True}
            (await http.post("/_emulator/faults/latency", json=hold)).raise_for_status()
            applying = asyncio.create_task(executor.apply(planned.plan))
            try:
                all_held = await _until(WAIT, lambda: _all_held(side))
                taken = await side.leases()
                renewed = await _until(WAIT, lambda: _later_than(side, taken))
                still_held = await side.held()
            finally:
                await http.post("/_emulator/faults/release")
            result = await applying
            return pool.size, all_held, taken, renewed, still_held, result, await side.leases()

    with serve_in_thread(tmp_path / "emulator-data") as running:
        token = running.issue_token(SCOPES, [PROJECT])
        size, all_held, taken, renewed, still_held, result, after = asyncio.run(
            go(running.url, token)
        )
    assert size == len(APPS)  # every connection the pool may use for them is an upload's
    assert None not in taken.values()  # each app was leased while its upload was held
    assert (all_held, renewed, still_held) == (True, True, len(APPS))
    assert [(o.app, o.status) for o in result.outcomes] == [(name, "done") for name in APPS]
    assert after == dict.fromkeys(APPS)  # released at the end


async def _all_held(side: _Side) -> bool:
    return await side.held() == len(APPS)


async def _later_than(side: _Side, taken: dict[str, int | None]) -> bool:
    """Each app's lease runs until later than it did in `taken`: it was renewed since."""
    now = await side.leases()
    return all((now[name] or 0) > (taken[name] or 0) for name in APPS)
