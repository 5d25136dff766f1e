"""Two applies in a row (two merges a minute apart): the second waits for the first's lease
with --lock-timeout. When the first made live exactly what the second would, the second ends
green with the app unchanged. When it made another build live, a plain apply plans the app
again under the lease and goes on when that makes the same changes; a saved plan, or a plan
made again that differs, still skips the app."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from comwit.cli import main
from comwit.cli.settings import Edges
from comwit.emulator.server import serve_in_thread
from comwit.emulator.store import SCOPES

from tests.e2e_support import (
    MANIFEST,
    PROJECT,
    LoopbackHTTP,
    Result,
    World,
    actions,
    populate,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)

WAIT = 30.0  # seconds any step of these tests may take, whatever the machine's load
POLL = 0.05  # seconds between a waiting run's reads of the lease (the CLI's own: 2 s)


async def _brisk(seconds: float) -> None:
    """A run's wait (for the lease, a retry's backoff), cut to POLL on the real clock: the
    wait ends when the other run releases the lease, and --lock-timeout still bounds it."""
    await asyncio.sleep(min(seconds, POLL))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[World]:
    """The CLI in this process over loopback HTTP, so that two runs can overlap (threads)."""
    with serve_in_thread(tmp_path / "emulator-data", auto_dns=True) as running:
        token = running.issue_token(SCOPES, [PROJECT])
        root = tmp_path / "repo"
        root.mkdir()
        yield populate(World(root, running.url, token, {}, transport=LoopbackHTTP()))


class _Run(threading.Thread):
    """`comwit ARGS` on the world's manifest in a thread of its own (no chdir: runs overlap)."""

    def __init__(self, world: World, *args: str) -> None:
        super().__init__(daemon=True)
        self._world, self._args = world, args
        self.out, self.err = io.StringIO(), io.StringIO()
        self.code: int | None = None

    def run(self) -> None:
        edges = Edges(
            self._world.environ(),
            io.StringIO(),
            self.out,
            self.err,
            self._world.transport,
            sleep=_brisk,
        )
        manifest = str(self._world.root / "comwit.toml")
        self.code = main([*self._args, "--file", manifest], edges=edges)

    def result(self) -> Result:
        self.join(WAIT)
        assert self.code is not None, "the run did not end in time"
        return Result(self.code, self.out.getvalue(), self.err.getvalue())


def _first_holds_the_lease(world: World) -> _Run:
    """The first run: its upload of web held by the emulator, so it keeps web's lease."""
    world.admin("POST", "faults/latency", {"route": "deploy", "ms": int(WAIT * 1000), "hold": True})
    first = _Run(world, "apply", "--yes")
    first.start()
    wait_for("the first run's upload", lambda: world.admin("GET", "faults")["held"] == 1, WAIT)
    return first


def _second_waits(
    world: World, *args: str, marker: str, fail: dict[str, object] | None = None
) -> _Run:
    """The second run, started once the first holds the lease; the first goes on once the
    second has read the app's state (`marker` in its output), after `fail` is injected."""
    second = _Run(world, *args, "--yes", "--lock-timeout", str(WAIT))
    second.start()
    wait_for(
        "the second's plan", lambda: marker in second.out.getvalue() + second.err.getvalue(), WAIT
    )
    if fail is not None:
        world.admin("POST", "faults/fail", fail)
    world.admin("POST", "faults/release")
    return second


def _second_result(first: _Run, second: _Run, code: int) -> Result:
    """The second run's result once both ended: the first green, the second with `code`."""
    one, two = first.result(), second.result()
    assert one.code == 0, one.out + one.err
    assert two.code == code, two.out + two.err
    return two


def _saved_plan(world: World) -> str:
    out = str(world.root / "plan.json")
    plan = _Run(world, "plan", "--out", out)
    plan.start()
    assert plan.result().code == 0, plan.err.getvalue()
    return out


@pytest.mark.parametrize("saved", [False, True], ids=["apply", "apply-plan"])
def test_the_second_run_finds_the_build_it_wanted_live_and_ends_green_unchanged(served, saved):
    world = served
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    args = ("apply", _saved_plan(world)) if saved else ("apply",)
    first = _first_holds_the_lease(world)
    second = _second_waits(world, *args, marker="Plan:")

    two = _second_result(first, second, code=0)
    live = world.app("web")["active_build_id"]
    assert (
        f"unchanged  web  already applied by another run: its live build {live} is the one "
        "this run would make live"
    ) in two.out
    assert "0 B uploaded" in two.out
    assert len(world.builds("web")) == 2  # v1 and the first run's v2: no second upload
    ledger = world.ledger("web")
    assert ledger.lease is None and ledger.upload is None
    assert ledger.get(live) is not None
    assert actions(world.plan_json()) == []


def test_a_plain_apply_plans_again_under_the_lease_and_deploys_its_own_build(served):
    world = served
    assert world.comwit("apply", "--yes").code == 0
    before = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    first = _first_holds_the_lease(world)
    world.write("web/index.html", "<h1>v3</h1>")  # the second run's commit: other content
    second = _second_waits(world, "apply", marker="Plan:")
    assert first.result().code == 0
    world.admin("DELETE", "faults")  # the second run's own upload is not held

    two = _second_result(first, second, code=0)
    live = world.app("web")["active_build_id"]
    (theirs,) = {b["build_id"] for b in world.builds("web")} - {before, live}  # the first's v2
    assert f"planned again under its lease from build {theirs}" in two.err
    assert f"done     web  build {live} is live" in two.out
    ledger = world.ledger("web")
    assert ledger.lease is None and ledger.upload is None
    assert ledger.active == live
    assert actions(world.plan_json()) == []


def test_a_plan_made_again_that_differs_still_skips_the_app(served):
    world = served
    assert world.comwit("apply", "--yes").code == 0
    before = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    # The first run's commit also adds a hostname, attached after its (held) upload.
    world.manifest(
        MANIFEST.replace('["www.example.com"]', '["www.example.com", "new.example.com"]')
    )
    first = _first_holds_the_lease(world)
    world.manifest(MANIFEST)
    world.write("web/index.html", "<h1>v3</h1>")
    second = _second_waits(world, "apply", marker="Plan:")

    two = _second_result(first, second, code=1)
    live = world.app("web")["active_build_id"]
    assert (
        f"skipped  web  another run changed its live build from {before} to {live} since the "
        "plan; plan again"
    ) in two.out
    assert len(world.builds("web")) == 2
    assert world.ledger("web").lease is None


def test_a_saved_plan_is_not_planned_again_under_the_lease_plan_again(served):
    world = served
    assert world.comwit("apply", "--yes").code == 0
    before = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    first = _first_holds_the_lease(world)
    world.write("web/index.html", "<h1>v3</h1>")  # the second run's commit: other content
    second = _second_waits(world, "apply", _saved_plan(world), marker="Plan:")

    two = _second_result(first, second, code=1)
    live = world.app("web")["active_build_id"]
    assert (
        f"skipped  web  another run changed its live build from {before} to {live} since the "
        "plan; plan again"
    ) in two.out
    assert len(world.builds("web")) == 2  # v1 and the first run's v2; v3 was not uploaded
    assert world.ledger("web").lease is None
    assert actions(world.plan_json(), "web") == ["deploy", "record_ledger"]


def test_an_app_that_cannot_be_read_again_under_the_lease_is_skipped_not_failed(served):
    world = served
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    first = _first_holds_the_lease(world)
    # After the second's plan: the first run's read of the builds after its upload, then the
    # second's under the lease, answer 404.
    fail = {"route": "list_builds", "count": 2, "status": 404}
    second = _second_waits(world, "apply", marker="Plan:", fail=fail)

    two = _second_result(first, second, code=1)
    assert "skipped  web  another run changed its live build from" in two.out
    assert "comwit hit a bug" not in two.out + two.err
    assert world.ledger("web").lease is None
