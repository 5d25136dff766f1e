"""End to end with processes: one saved plan of 12 apps (9 changed) split in 3 shards, the
shards applied by three `comwit apply --shard` processes at once against `comwit emulator
serve` (a process of its own), merged by `comwit report` into the summary a single job's
apply of the same plan gives; a shard killed part-way is reported missing, its rerun converges."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, LoopbackHTTP, Result, World, serve_emulator, wait_for
from tests.shards_support import APPS, CHANGED, plan_in_shards, twelve_apps

pytestmark = pytest.mark.timeout(150)

RUN_SECONDS = 90  # no CLI process of these tests may take longer
DEPLOY_ROUTE = "POST /v1/projects/{project_id}/apps/{app_id}/deployments"
_IDS = re.compile(r"\b(app|build)-[0-9a-f]{12}\b")  # the emulator's random ids

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def served_world(tmp_path: Path) -> Iterator[World]:
    """A project directory against `comwit emulator serve`: the CLI runs in this process over
    loopback HTTP (`comwit`), or as processes of its own (`spawn`)."""
    with serve_emulator(tmp_path / "emulator-data", "--auto-dns") as served:
        root = tmp_path / "repo"
        root.mkdir()
        yield World(root, served.url, served.token, {}, transport=LoopbackHTTP())


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start `comwit ARGS` in a world without waiting; whatever still runs at the end is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(world: World, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "comwit", *args],
            cwd=world.root,
            env=world.environ(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=RUN_SECONDS)


def _finish(proc: subprocess.Popen[str]) -> Result:
    out, err = proc.communicate(timeout=RUN_SECONDS)
    return Result(proc.returncode, out, err)


def _apply_shards_at_once(
    world: World, spawn: Spawn, planfile: Path, shards: dict[str, Path]
) -> None:
    running = [
        spawn(world, "apply", str(planfile), "--shard", shard, "--result", str(path))
        for shard, path in shards.items()
    ]
    for run in map(_finish, running):
        assert run.code == 0, run.out + run.err


def _summary(text: str) -> str:
    """The summary of an apply's text output (what follows the plan), ids made alike."""
    return _IDS.sub(r"\1-ID", text[text.index("Apply complete:") :])


def _outcomes(document: dict[str, Any]) -> dict[str, Any]:
    """An apply's JSON summary, ids made alike (they are random per emulator)."""
    return {
        "apps": [
            {k: _IDS.sub(r"\1-ID", str(v)) for k, v in app.items()} for app in document["apps"]
        ],
        "urls": {app: _IDS.sub(r"\1-ID", url) for app, url in document["urls"].items()},
        **{k: document[k] for k in ("ok", "hints", "uploaded_bytes")},
    }


def _builds_shape(world: World) -> dict[str, list[tuple[int, bool]]]:
    """Per app, each build's size and whether it is the live one."""
    shape = {}
    for app in APPS:
        live = world.app(app)["active_build_id"]
        builds = world.builds(app)
        shape[app] = [(b["artifact_size"], b["build_id"] == live) for b in builds]
    return shape


def _single_job(tmp_path: Path) -> tuple[Result, Result, dict[str, list[tuple[int, bool]]]]:
    """A twin world (same manifest, same starting state) whose one job applies the whole saved
    plan: its text and its JSON output (two copies of the world, one plan), and its builds."""
    world_a, world_b = tmp_path / "a", tmp_path / "b"
    planfile = tmp_path / "plan.json"
    with InProcessEmulator(world_a / "emulator-data", auto_dns=True) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        twin = World(world_a / "repo", emulator.url, token, {}, transport=emulator.transport)
        twin.root.mkdir(parents=True)
        twelve_apps(twin)
        assert twin.comwit("apply", "--yes").code == 0
        twelve_apps(twin, changed=CHANGED)
        assert twin.comwit("plan", "--out", str(planfile)).code == 0
    shutil.copytree(world_a, world_b)
    outputs = []
    for root, extra in ((world_a, ()), (world_b, ("--format", "json"))):
        with InProcessEmulator(root / "emulator-data", auto_dns=True) as emulator:
            twin = World(root / "repo", emulator.url, token, {}, transport=emulator.transport)
            outputs.append(twin.comwit("apply", str(planfile), *extra))
            shape = _builds_shape(twin)
    return outputs[0], outputs[1], shape


def test_three_shard_processes_at_once_apply_each_app_once_as_one_job_would(
    served_world, spawn, tmp_path
):
    world = served_world
    planfile, matrix = plan_in_shards(world, tmp_path / "plan")
    shards = {e["shard"]: tmp_path / f"result-{e['shard'][0]}.json" for e in matrix["include"]}
    world.reset_stats()

    _apply_shards_at_once(world, spawn, planfile, shards)

    stats = world.stats()
    assert (stats["deploys"], stats["requests"][DEPLOY_ROUTE]) == (9, 9)
    text = world.comwit("report", *map(str, shards.values()))
    document = world.comwit("report", *map(str, shards.values()), "--format", "json")
    assert text.code == document.code == 0, text.err + document.err
    assert world.comwit("plan", "--detailed-exitcode").code == 0
    single_text, single_json, single_builds = _single_job(tmp_path / "single")
    assert single_text.code == single_json.code == 0, single_text.err + single_json.err
    assert _summary(text.out) == _summary(single_text.out)
    assert _outcomes(document.json()) == _outcomes(single_json.json())
    assert _builds_shape(world) == single_builds
    assert "Apply complete: 9 done, 3 unchanged" in text.out


def test_a_shard_killed_midway_is_reported_missing_and_its_rerun_converges(
    served_world, spawn, tmp_path
):
    world = served_world
    planfile, matrix = plan_in_shards(world, tmp_path / "plan")
    shards = {e["shard"]: tmp_path / f"result-{e['shard'][0]}.json" for e in matrix["include"]}
    *first, last = shards
    last_apps = matrix["include"][-1]["apps"].split(",")
    _apply_shards_at_once(world, spawn, planfile, {s: shards[s] for s in first})
    world.reset_stats()

    # One app at a time, its deploy and env writes held: killed once its first app is live,
    # before the API has the ledger's record of that build (the rerun finishes it).
    for route in ("deploy", "put_env"):
        world.admin("POST", "faults/latency", {"route": route, "ms": 1000})
    killed = spawn(
        world, "apply", str(planfile), "--shard", last, "--result", str(shards[last]),
        "--parallel", "1",
    )  # fmt: skip
    wait_for("its first deploy", lambda: world.stats()["deploys"] == 1, RUN_SECONDS)
    killed.send_signal(signal.SIGKILL)
    assert _finish(killed).code == -signal.SIGKILL
    world.admin("DELETE", "faults")
    assert not shards[last].exists()

    report = world.comwit("report", *(str(shards[s]) for s in first))
    assert report.code == 1
    assert f"error: shard {last} reported no result: rerun its job" in report.err
    not_started = [line.split() for line in report.out.splitlines() if line.startswith("  not")]
    assert sorted(words[2] for words in not_started) == sorted(last_apps)
    rerun = world.comwit("apply", str(planfile), "--shard", last, "--result", str(shards[last]))
    assert rerun.code == 0, rerun.out + rerun.err
    assert rerun.err.count("an earlier run of this plan stopped part-way") == 1, rerun.err
    again = world.comwit("report", *map(str, shards.values()))
    assert again.code == 0, again.out + again.err
    assert "Apply complete: 9 done, 3 unchanged" in again.out
    assert world.stats()["deploys"] == len(last_apps)
    assert {a: len(world.builds(a)) for a in APPS} == {a: 2 if a in CHANGED else 1 for a in APPS}
    assert world.comwit("plan", "--detailed-exitcode").code == 0
