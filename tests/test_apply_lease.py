"""The apply lease against a real ledger file, on a fake clock: taken and read back,
renewed, released; another run's live lease is waited for (bounded) and never taken over."""

from __future__ import annotations

import asyncio

import pytest

from comwit.apply.lease import AppLease, LeaseHeldError, LeasePolicy
from comwit.plan.ledger import Upload
from comwit.store.ledger import LocalStore

from tests.e2e_support import FakeTime


def _lease(
    tmp_path, clock: FakeTime, who: str, wait: float = 0.0, told: list[str] | None = None
) -> AppLease:
    store = LocalStore(tmp_path / "state.json", "demo")
    policy = LeasePolicy(who, f"https://ci.example/{who}", wait=wait, ttl=120, poll=5)
    waiting = told.append if told is not None else lambda _: None
    return AppLease(
        store, "web", "app-web", policy, clock=clock, sleep=clock.sleep, waiting=waiting
    )


def _held(tmp_path):
    return asyncio.run(LocalStore(tmp_path / "state.json", "demo").load("web", "app-web")).lease


def test_a_lease_is_taken_renewed_and_released(tmp_path):
    clock = FakeTime(1_000.0)
    lease = _lease(tmp_path, clock, "first")
    asyncio.run(lease.acquire())
    assert _held(tmp_path).holder == "first"
    assert _held(tmp_path).expires_ms == 1_120_000
    clock.now += 100
    asyncio.run(lease.renew())
    assert _held(tmp_path).expires_ms == 1_220_000
    asyncio.run(lease.release())
    assert _held(tmp_path) is None


def test_another_runs_live_lease_fails_at_once_and_is_not_taken_over(tmp_path):
    clock = FakeTime(1_000.0)
    told: list[str] = []
    asyncio.run(_lease(tmp_path, clock, "first").acquire())
    with pytest.raises(LeaseHeldError, match=r"app 'web' is being applied by first \("):
        asyncio.run(_lease(tmp_path, clock, "second", told=told).acquire())
    assert clock.now == 1_000.0  # no wait with --lock-timeout 0
    assert told == []
    assert _held(tmp_path).holder == "first"


def test_a_wait_ends_when_the_lease_expires_or_after_lock_timeout(tmp_path):
    clock = FakeTime(1_000.0)
    asyncio.run(_lease(tmp_path, clock, "first").acquire())
    with pytest.raises(LeaseHeldError, match="after waiting 30 s"):
        asyncio.run(_lease(tmp_path, clock, "second", wait=30).acquire())
    assert clock.now == 1_030.0
    asyncio.run(_lease(tmp_path, clock, "third", wait=200).acquire())  # expires at 1_120
    assert _held(tmp_path).holder == "third"
    assert 1_120.0 <= clock.now <= 1_125.0


def test_a_wait_says_once_whom_it_waits_for_then_polls_until_lock_timeout(tmp_path):
    clock = FakeTime(1_000.0)
    told: list[str] = []
    asyncio.run(_lease(tmp_path, clock, "first").acquire())
    with pytest.raises(LeaseHeldError) as refused:
        asyncio.run(_lease(tmp_path, clock, "second", wait=12, told=told).acquire())
    assert told == [
        "waiting up to 12 s for its apply lease, held by first (https://ci.example/first) "
        "until 00:18:40 UTC"
    ]
    assert clock.slept == [5, 5, 2]  # a poll at a time, the last one cut to the deadline
    assert str(refused.value) == (
        "app 'web' is being applied by first (https://ci.example/first); its lease runs until "
        "00:18:40 UTC after waiting 12 s. Pass --lock-timeout SECONDS to wait for it, or run "
        "`comwit unlock web` if that run is gone"
    )


def test_a_free_lease_is_taken_without_a_word_of_waiting(tmp_path):
    clock = FakeTime(1_000.0)
    told: list[str] = []
    asyncio.run(_lease(tmp_path, clock, "first", wait=30, told=told).acquire())
    assert told == []
    assert clock.slept == []


def test_a_renewal_that_finds_the_lease_taken_says_so(tmp_path):
    clock = FakeTime(1_000.0)
    first = _lease(tmp_path, clock, "first")
    asyncio.run(first.acquire())
    clock.now += 200  # expired
    asyncio.run(_lease(tmp_path, clock, "second").acquire())
    asyncio.run(first.renew())
    assert first.lost == "its apply lease was taken over by second while it was applied"
    asyncio.run(first.release())  # not its lease any more: left alone
    assert _held(tmp_path).holder == "second"


def test_a_lease_replaced_and_let_go_by_another_run_is_refused_without_a_holder(tmp_path):
    # Two runs wrote their leases at once; the other's write came last, and it has applied the
    # app and released its lease before this run read its own back.
    clock = FakeTime(1_000.0)
    first = _lease(tmp_path, clock, "first")
    asyncio.run(first.acquire())
    store = LocalStore(tmp_path / "state.json", "demo")
    asyncio.run(store.update("web", "app-web", lambda ledger: ledger.with_lease(None)))
    with pytest.raises(LeaseHeldError) as refused:
        asyncio.run(first.confirm())
    assert str(refused.value) == (
        "app 'web' was leased by another run at the same time, and that run has let it go "
        "since: plan again to see what it changed"
    )


def test_the_upload_kept_with_a_lease_is_restated_and_an_other_runs_lease_is_left_alone(tmp_path):
    clock = FakeTime(1_000.0)
    store = LocalStore(tmp_path / "state.json", "demo")
    policy = LeasePolicy("first", "https://ci.example/first", ttl=120)
    planned = Upload("sha256:" + "a" * 64, 100, live_before="build-1")
    lease = AppLease(store, "web", "app-web", policy, clock=clock, upload=planned)
    asyncio.run(lease.acquire())
    again = Upload("sha256:" + "a" * 64, 100, live_before="build-2")
    asyncio.run(lease.restate(again))
    kept = asyncio.run(LocalStore(tmp_path / "state.json", "demo").load("web", "app-web"))
    assert (kept.upload, kept.lease.holder) == (again, "first")
    asyncio.run(lease.confirm())
    asyncio.run(lease.release())
    other = _lease(tmp_path, clock, "second")
    asyncio.run(other.acquire())
    asyncio.run(lease.restate(planned))  # no longer its lease: written nothing
    assert asyncio.run(store.load("web", "app-web")).upload is None
    assert _held(tmp_path).holder == "second"
