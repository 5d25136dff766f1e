"""Claiming a preview plan's apps, and the [preview] max_apps cap: whole plans from values."""

from __future__ import annotations

import pytest

from comwit.plan.actions import (
    AppPlan,
    AttachHost,
    CreateApp,
    DetachHost,
    Held,
    Plan,
    Preconditions,
    RecordLedger,
)
from comwit.plan.ledger import AppLedger, Lease, PreviewMark, PreviewOf
from comwit.plan.state import ObservedApp
from comwit.preview.claim import PreviewTarget, claim, created_apps, over_cap

from tests.factories import DIGEST_A

APP = "web-pr-3"
TARGET = PreviewTarget(pr=3, bases={APP: "web"}, production=frozenset({"www.example.com"}))
NEW = Preconditions(exists=False)
LIVE = Preconditions(exists=True, app_id="id-1")
PREVIEW_HOST = AttachHost(app=APP, host="web-pr-3.preview.example.com")
RECORD = RecordLedger(app=APP, digest=DIGEST_A)
MARKED = RecordLedger(app=APP, digest=DIGEST_A, preview=PreviewOf("web", 3))
HELD = Held(action=DetachHost(app=APP, host="old.example.com"), reason="detach not allowed")


def _plan(preconditions: Preconditions, *actions, held=()) -> Plan:
    app = AppPlan(app=APP, preconditions=preconditions, actions=actions, held=held)
    return Plan(project="proj", apps=(app,))


def _refused(preconditions: Preconditions, why: str) -> Plan:
    app = AppPlan(app=APP, preconditions=preconditions, error=why)
    return Plan(project="proj", apps=(app,))


NOW_MS = 1_700_000_000_000
THEIRS = Lease("ci@elsewhere", "https://ci.example/runs/7", NOW_MS + 60_000, "theirs")
GONE = Lease("ci@elsewhere", "https://ci.example/runs/6", NOW_MS - 1, "gone")


def _existing(mark: PreviewMark | None, lease: Lease | None = None) -> dict[str, ObservedApp]:
    ledger = AppLedger(preview=mark, lease=lease)
    return {APP: ObservedApp(name=APP, app_id="id-1", ledger=ledger)}


NOT_OURS = (
    f"app {APP} exists and is not comwit's preview of web for pull request #3 (its ledger "
    "{whose}); comwit leaves it alone: rename or delete it"
)


@pytest.mark.parametrize(
    ("plan", "observed", "expected"),
    [
        (
            _plan(NEW, CreateApp(app=APP), PREVIEW_HOST, RECORD),
            {},
            _plan(NEW, CreateApp(app=APP), PREVIEW_HOST, MARKED),
        ),
        (
            _plan(LIVE, RECORD),
            _existing(PreviewMark("web", 3, "abc1234", 1, 2)),
            _plan(LIVE, MARKED),
        ),
        (_plan(LIVE), _existing(PreviewMark("web", 3, None, 1, 2)), _plan(LIVE)),
        (
            _plan(LIVE, RECORD, held=(HELD,)),
            _existing(None),
            _refused(LIVE, NOT_OURS.format(whose="has no preview mark")),
        ),
        (
            _plan(LIVE, RECORD),
            _existing(None, THEIRS),
            _refused(
                LIVE,
                f"app {APP} has no preview mark yet and another run is applying it: "
                "ci@elsewhere (https://ci.example/runs/7), its lease runs until 22:14:20 UTC. "
                "If that run is creating this pull request's preview, run again once it is "
                "done; comwit never adopts an app without the mark",
            ),
        ),
        (
            _plan(LIVE, RECORD),
            _existing(None, GONE),
            _refused(LIVE, NOT_OURS.format(whose="has no preview mark")),
        ),
        (
            _plan(LIVE, RECORD),
            _existing(PreviewMark("web", 4, None, 1, 2)),
            _refused(LIVE, NOT_OURS.format(whose="marks pull request #4")),
        ),
        (
            _plan(LIVE, RECORD),
            _existing(PreviewMark("api", 3, None, 1, 2)),
            _refused(LIVE, NOT_OURS.format(whose="marks pull request #3")),
        ),
        (
            _plan(NEW, CreateApp(app=APP), AttachHost(app=APP, host="www.example.com"), RECORD),
            {},
            _refused(NEW, "hostname www.example.com is a production hostname"),
        ),
    ],
    ids=[
        "new-app-is-marked",
        "own-preview-is-marked-again",
        "own-preview-without-changes",
        "unmarked-app-refused-held-dropped",
        "unmarked-app-another-run-is-creating",
        "unmarked-app-with-an-expired-lease",
        "other-pull-request-refused",
        "other-base-refused",
        "production-hostname-refused",
    ],
)
def test_claim_marks_its_own_previews_and_refuses_every_other_app(plan, observed, expected):
    assert claim(plan, observed, TARGET, now_ms=NOW_MS) == expected


def _creating(*names: str) -> Plan:
    apps = tuple(
        AppPlan(app=name, preconditions=NEW, actions=(CreateApp(app=name),)) for name in names
    )
    return Plan(project="proj", apps=(*apps, AppPlan(app="kept", preconditions=LIVE)))


def test_created_apps_are_those_the_plan_creates():
    assert created_apps(_creating("a-pr-3", "b-pr-3")) == ["a-pr-3", "b-pr-3"]
    assert created_apps(_creating()) == []


def _over(creating: int, total: int, exist: int, cap: int) -> str:
    return (
        f"creating {creating} preview app(s) would make {total} in the project, over "
        f"[preview] max_apps = {cap} ({exist} exist): delete old ones with "
        "`comwit preview prune` or `comwit preview down --pr N`, or raise max_apps"
    )


@pytest.mark.parametrize(
    ("creating", "previews", "cap", "expected"),
    [
        ((), ("a-pr-1", "b-pr-1", "c-pr-1"), 2, None),  # nothing created: never refused
        (("a-pr-3",), ("a-pr-1", "b-pr-1"), 3, None),  # exactly at the cap
        (("a-pr-3", "b-pr-3"), ("a-pr-1", "b-pr-1"), 3, _over(2, 4, 2, 3)),
        (("a-pr-3",), ("a-pr-3", "a-pr-1"), 2, None),  # one already counted is not two
        (("a-pr-3",), (), 0, _over(1, 1, 0, 0)),
    ],
    ids=["none-created", "at-the-cap", "over-the-cap", "counted-once", "cap-of-zero"],
)
def test_over_cap_says_why_new_previews_would_pass_max_apps(creating, previews, cap, expected):
    assert over_cap(_creating(*creating), previews, cap) == expected
