"""End to end with processes: the shards of one saved plan applied by three `comwit`
processes at once against the emulator over loopback HTTP, merged by `comwit report`; a shard
killed part-way is reported missing, and its rerun converges."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.test_e2e_shards import APPS, CHANGED, _plan_in_shards


def _start(world, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "comwit", *args],
        cwd=world.root,
        env=world.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_three_shards_at_once_apply_each_changed_app_once(process_world, tmp_path):
    world = process_world
    planfile, matrix = _plan_in_shards(world, tmp_path)
    world.reset_stats()
    results = [tmp_path / f"r{i}.json" for i in (1, 2, 3)]
    running = [
        _start(world, "apply", str(planfile), "--shard", e["shard"], "--result", str(path))
        for e, path in zip(matrix["include"], results, strict=True)
    ]
    for proc in running:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
    assert world.stats()["deploys"] == 9
    assert all(len(world.builds(app)) == 2 for app in CHANGED)
    assert all(len(world.builds(app)) == 1 for app in APPS if app not in CHANGED)
    report = world.comwit("report", *map(str, results), "--format", "json")
    assert report.code == 0, report.err
    merged = report.json()
    assert [(a["app"], a["status"]) for a in merged["apps"]] == [
        (app, "done" if app in CHANGED else "unchanged") for app in APPS
    ]
    assert merged["ok"] is True
    assert world.comwit("plan", "--detailed-exitcode").code == 0


def test_a_shard_killed_part_way_is_missing_and_its_rerun_converges(process_world, tmp_path):
    world = process_world
    planfile, matrix = _plan_in_shards(world, tmp_path)
    shards = [e["shard"] for e in matrix["include"]]
    paths = {s: tmp_path / f"r{s[0]}.json" for s in shards}
    for shard in shards[:2]:
        run = world.comwit("apply", str(planfile), "--shard", shard, "--result", str(paths[shard]))
        assert run.code == 0, run.out + run.err
    world.admin("POST", "faults/latency", {"route": "deploy", "ms": 4000})
    killed = _start(
        world, "apply", str(planfile), "--shard", shards[2], "--result", str(paths[shards[2]])
    )
    time.sleep(2.5)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    world.admin("DELETE", "faults")
    assert not paths[shards[2]].exists()
    report = world.comwit("report", *(str(paths[s]) for s in shards[:2]))
    assert report.code == 1
    assert f"error: shard {shards[2]} reported no result: rerun its job" in report.err
    rerun = world.comwit(
        "apply", str(planfile), "--shard", shards[2], "--result", str(paths[shards[2]])
    )
    assert rerun.code == 0, rerun.out + rerun.err
    again = world.comwit("report", *(str(paths[s]) for s in shards), "--format", "json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["ok"] is True
    assert world.comwit("plan", "--detailed-exitcode").code == 0
