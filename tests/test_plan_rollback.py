"""Rollback plans: which build `previous` means, and what the plan says of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from comwit.errors import PlanError
from comwit.plan.actions import Activate, RecordLedger
from comwit.plan.rollback import previous_build, rollback_plan
from comwit.plan.state import ObservedBuild

from tests.factories import DIGEST_A, DIGEST_B, ledger, observed


def test_previous_comes_from_the_ledger_history():
    app = observed(
        live="b3",
        builds=("b1", "b2"),
        ledger=ledger(("b1", DIGEST_A), ("b2", DIGEST_B), ("b3", DIGEST_A)),
    )
    assert previous_build(app) == "b2"


def test_previous_after_drift_is_what_comwit_last_activated():
    app = observed(
        live="b9", builds=("b1", "b2"), ledger=ledger(("b1", DIGEST_A), ("b2", DIGEST_B))
    )
    assert previous_build(app) == "b2"


def test_previous_skips_builds_deleted_at_the_api():
    app = observed(
        live="b3",
        builds=("b1",),
        ledger=ledger(("b1", DIGEST_A), ("b2", DIGEST_B), ("b3", DIGEST_A)),
    )
    assert previous_build(app) == "b1"


def test_previous_without_a_ledger_goes_by_creation_time():
    builds = (
        ObservedBuild("b1", created_at="2026-01-01T00:00:00Z"),
        ObservedBuild("b3", created_at="2026-01-03T00:00:00Z"),
        ObservedBuild("b2", created_at="2026-01-02T00:00:00Z"),
    )
    assert previous_build(replace(observed(live="b2"), builds=builds)) == "b1"


def test_rollback_plan_activates_with_what_the_ledger_knows():
    app = observed(live="b2", builds=("b1",), ledger=ledger(("b1", DIGEST_A), ("b2", DIGEST_B)))
    plan = rollback_plan(app, "demo", "previous")
    assert plan.apps[0].actions == (
        Activate(app="web", build_id="b1", reason="rollback", digest=DIGEST_A, live_build="b2"),
        RecordLedger(app="web", digest=DIGEST_A),
    )


def test_rollback_to_the_live_build_changes_nothing():
    plan = rollback_plan(observed(live="b1"), "demo", "b1")
    assert not plan.has_changes


def test_rollback_with_nothing_before_is_an_error():
    with pytest.raises(PlanError, match="has no build before b1 to roll back to"):
        rollback_plan(observed(live="b1"), "demo", "previous")


@pytest.mark.parametrize(
    ("to", "shown"),
    [("", "''"), ("b'7", "'b'7'"), ("b" * 500, f"'{'b' * 80}... (500 characters)'")],
)
def test_an_unknown_build_to_roll_back_to_is_echoed_quoted_and_cut(to, shown):
    with pytest.raises(PlanError) as info:
        rollback_plan(observed(live="b1"), "demo", to)
    assert str(info.value) == (
        f"app 'web' has no build {shown}; its newest builds: b1 (`comwit builds web` lists them all)"
    )
