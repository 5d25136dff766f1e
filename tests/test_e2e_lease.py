"""The per-app apply lease: another run's live lease fails the app at once, naming it; a
wait is bounded; `comwit unlock` removes a stale lease; a finished apply leaves none."""

from __future__ import annotations

import socket
import time

import pytest

from comwit.plan.ledger import Lease, Upload

from tests.e2e_support import PROJECT, FakeTime, World, actions

pytestmark = pytest.mark.timeout(60)


def _hold(world: World, app: str, run: str, seconds: float, now: float | None = None) -> None:
    """Another run's lease on `app`, expiring `seconds` after `now` (default: now)."""
    expires = int(((time.time() if now is None else now) + seconds) * 1000)
    world.put_ledger(
        app, world.ledger(app).with_lease(Lease("ci@elsewhere", run, expires, "theirs"))
    )


def _until(expires: float) -> str:
    """A lease's end as apply names it."""
    return Lease("", "", int(expires * 1000), "").until()


def _change_web(world: World) -> None:
    world.write("web/index.html", f"<h1>{time.monotonic()}</h1>")


def test_a_finished_apply_releases_its_lease_and_detailed_exitcode_says_what_happened(world):
    result = world.comwit("apply", "--yes", "--detailed-exitcode")
    assert result.code == 2, result.out + result.err
    assert world.ledger("web").lease is None
    assert world.comwit("apply", "--yes", "--detailed-exitcode").code == 0


def test_another_runs_lease_fails_the_app_at_once_naming_the_holder_and_unlock_removes_it(world):
    world.comwit("apply", "--yes")
    _hold(world, "web", "https://ci.example/runs/7", seconds=600)
    _change_web(world)
    now = FakeTime()
    result = world.comwit("apply", "--yes", clock=now, sleep=now.sleep)
    assert now.slept == []  # no wait at all: not for the lease, not for a retry
    assert result.code == 1
    assert "waiting" not in result.out + result.err
    assert (
        "app 'web' is being applied by ci@elsewhere (https://ci.example/runs/7); its lease runs "
        "until" in result.out
    )
    assert "after waiting" not in result.out
    assert "`comwit unlock web` if that run is gone" in result.out
    assert world.ledger("web").lease.token == "theirs"  # never taken over

    unlocked = world.comwit("unlock", "web")
    assert unlocked.code == 0, unlocked.err
    assert "Removed the apply lease of app 'web' held by ci@elsewhere" in unlocked.err
    assert world.comwit("apply", "--yes").code == 0


def test_lock_timeout_waits_for_a_lease_that_expires_saying_whom_it_waits_for(world):
    world.comwit("apply", "--yes")
    now = FakeTime()
    until = _until(now.now + 5)
    _hold(world, "web", "https://ci.example/runs/8", seconds=5, now=now.now)
    _change_web(world)
    result = world.comwit("apply", "--yes", "--lock-timeout", "20", clock=now, sleep=now.sleep)
    assert result.code == 0, result.out + result.err
    assert now.slept == [2.0, 2.0, 2.0]  # polled by its own clock until the lease ran out
    assert result.err.count("waiting") == 1
    assert (
        f"web: waiting up to 20 s for its apply lease, held by ci@elsewhere "
        f"(https://ci.example/runs/8) until {until}\n"
    ) in result.err
    assert len(world.builds("web")) == 2
    assert world.ledger("web").lease is None


def test_lock_timeout_bounds_the_wait_then_refuses_naming_the_holder_and_unlock(world):
    world.comwit("apply", "--yes")
    now = FakeTime()
    until = _until(now.now + 600)
    _hold(world, "web", "https://ci.example/runs/8", seconds=600, now=now.now)
    _change_web(world)
    result = world.comwit("apply", "--yes", "--lock-timeout", "15", clock=now, sleep=now.sleep)
    assert result.code == 1
    assert now.slept == [2.0] * 7 + [1.0]  # 15 s by its own clock, then no more
    assert (
        f"web: waiting up to 15 s for its apply lease, held by ci@elsewhere "
        f"(https://ci.example/runs/8) until {until}\n"
    ) in result.err
    refusal = (
        f"app 'web' is being applied by ci@elsewhere (https://ci.example/runs/8); its lease runs "
        f"until {until} after waiting 15 s. Pass --lock-timeout SECONDS to wait for it, or run "
        "`comwit unlock web` if that run is gone"
    )
    assert [line for line in result.out.splitlines() if refusal in line] == [
        f"  failed   web  {refusal}"
    ]
    assert world.ledger("web").lease.token == "theirs"  # never taken over
    assert len(world.builds("web")) == 1


def test_a_lease_of_a_process_of_this_machine_that_is_gone_does_not_hold_apply_back(world):
    world.comwit("apply", "--yes")
    _hold(world, "web", f"{socket.gethostname()}:99999999", seconds=600)
    _change_web(world)
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.out + result.err


def test_a_run_killed_after_the_api_took_its_upload_is_adopted_not_uploaded_again(world):
    world.comwit("apply", "--yes")
    first = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    digest = next(
        a["digest"] for a in world.plan_json()["apps"][1]["actions"] if a["type"] == "deploy"
    )
    artifact = world.root / "web.tar.zst"
    assert world.comwit("pack", "web", "-o", str(artifact)).code == 0
    # The killed run: its lease and upload in the ledger, then the API took its upload.
    app_id = world.app("web")["app_id"]
    left = Upload(digest, artifact.stat().st_size, first)
    dead = Lease(
        "root@gone", f"{socket.gethostname()}:99999999", int(time.time() * 1000) + 60_000, "x"
    )
    world.put_ledger("web", world.ledger("web").with_lease(dead, left))
    world.request(
        "POST",
        f"/v1/projects/{PROJECT}/apps/{app_id}/deployments?hosts=www.example.com",
        content=artifact.read_bytes(),
        token=world.token,
        headers={"Content-Type": "application/octet-stream"},
    ).raise_for_status()
    artifact.unlink()

    plan = world.comwit("plan")
    assert "an earlier run uploaded it and stopped before recording it" in plan.out, plan.out
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert len(world.builds("web")) == 2  # no second build of the same content
    assert actions(world.plan_json()) == []
    assert world.ledger("web").upload is None


@pytest.mark.parametrize("seconds", ["inf", "86401"])
def test_a_lock_timeout_past_a_day_is_refused_nothing_waits_forever(world, seconds):
    result = world.comwit("apply", "--yes", "--lock-timeout", seconds)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: --lock-timeout: must be at most 86400 (see `comwit apply --help`)"
    ]
    assert world.api("apps")["apps"] == []  # nothing was applied
