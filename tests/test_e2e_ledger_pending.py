"""End to end: a ledger write that fails is retried; one that keeps failing is kept in
.comwit/ and completed by the next run, which neither uploads the same content again nor
calls comwit's own deploy a change made outside comwit."""

from __future__ import annotations

import json

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
