"""End to end: a ledger write that fails is retried; one that keeps failing is kept in
.comwit/ and completed by the next run, which neither uploads the same content again nor
calls comwit's own deploy a change made outside comwit."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.e2e_support import actions

PENDING = ".comwit/pending-ledger.json"


def fail_ledger_writes(world, count):
    world.admin("POST", "faults/fail", {"route": "put_env", "count": count, "status": 500})


def test_a_ledger_put_failing_once_is_retried_and_the_next_apply_uploads_nothing(world):
    fail_ledger_writes(world, 1)
    first = world.comwit("apply", "--yes", "--app", "api")
    assert first.code == 0, first.out + first.err
    assert "could not record" not in first.out
    world.reset_stats()
    again = world.comwit("apply", "--yes", "--app", "api")
    assert again.code == 0
    assert world.stats()["deploys"] == 0
    assert len(world.builds("api")) == 1


def test_a_ledger_write_that_keeps_failing_is_kept_and_completed_by_the_next_run(world):
    fail_ledger_writes(world, 20)
    first = world.comwit("apply", "--yes", "--app", "api")
    assert first.code == 0, first.out + first.err
    assert "the next apply records it" in first.out
    kept = json.loads((world.root / PENDING).read_text())
    (app_id,) = kept["projects"]["proj"]
    world.admin("DELETE", "faults")
    plan = world.plan_json("--app", "api")
    assert actions(plan) == []
    assert plan["apps"][0]["notes"] == []  # not "changed outside comwit"
    world.reset_stats()
    again = world.comwit("apply", "--yes", "--app", "api")
    assert again.code == 0, again.out + again.err
    assert world.stats()["deploys"] == 0
    assert len(world.builds("api")) == 1
    assert (
        not (world.root / PENDING).exists()
        or "proj" not in json.loads((world.root / PENDING).read_text())["projects"]
    )
    env = world.api(f"apps/{app_id}/environment")["variables"]
    assert any(v["key"] == "COMWIT_LEDGER" for v in env)
    assert actions(world.plan_json("--app", "api")) == []


def test_a_rollback_after_a_deploy_whose_record_was_kept_rolls_back(world):
    """The pending record made the ledger under the lease differ from the one planned:
    "another run recorded what its live build holds since the plan", every time, until an
    apply (which a rollback is there to avoid) wrote it."""
    assert world.comwit("apply", "--yes", "--app", "api").code == 0
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    fail_ledger_writes(world, 20)
    assert world.comwit("apply", "--yes", "--app", "api").code == 0
    assert (world.root / PENDING).exists()
    world.admin("DELETE", "faults")
    rolled = world.comwit("rollback", "api", "--yes")
    assert rolled.code == 0, rolled.out + rolled.err
    assert world.app("api")["active_build_id"] == first
    assert len(world.builds("api")) == 2  # nothing uploaded


def test_a_foreign_pending_file_is_left_as_it_is_and_apply_changes_nothing(world):
    world.write(PENDING, '{"projects": []}')
    assert world.comwit("plan").code == 0  # reading counts it as empty
    applied = world.comwit("apply", "--yes", "--app", "api")
    assert applied.code == 1
    path = world.root / PENDING
    assert applied.err.strip().splitlines()[-1] == (
        f"error: {path} is not a comwit ledger file; comwit wrote nothing to it, as that "
        "would drop the records it holds: move it away (it holds only ledger records an "
        "earlier apply could not write yet)"
    )
    assert path.read_text() == '{"projects": []}'
    assert world.stats()["mutating"] == 0
    path.unlink()
    assert world.comwit("apply", "--yes", "--app", "api").code == 0


def test_a_run_killed_between_the_upload_and_the_ledger_write_leaves_no_second_upload(
    process_world,
):
    world = process_world
    # The lease's env write passes; the ledger's, after the upload, waits: the run is killed then.
    world.admin("POST", "faults/latency", {"route": "put_env", "ms": 20_000, "skip": 1})
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "apply", "--yes", "--app", "api"],
        cwd=world.root,
        env=world.environ(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while world.stats()["deploys"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        while not (world.root / PENDING).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert world.stats()["deploys"] == 1
    finally:
        proc.kill()  # SIGKILL: nothing of comwit runs after this
        proc.wait(10)
    assert (world.root / PENDING).exists(), "the run was killed only after its ledger write"
    world.admin("DELETE", "faults")
    world.reset_stats()
    again = world.in_this_process().comwit("apply", "--yes", "--app", "api")
    assert again.code == 0, again.out + again.err
    assert world.stats()["deploys"] == 0
    assert "changed outside comwit" not in again.out
