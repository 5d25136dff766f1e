"""Which marked previews `preview down` and `preview prune` delete: whole plans from values
(no API, no clock), and the --older-than durations."""

from __future__ import annotations

import pytest

from comwit.plan.actions import AppPlan, DeleteApp, Plan, Preconditions
from comwit.plan.ledger import AppLedger, PreviewMark
from comwit.plan.state import ObservedApp, ObservedHost
from comwit.preview.select import down_plan, marked, parse_duration, prune_plan

DAY = 86_400_000
NOW = 12 * DAY


def _app(name: str, mark: PreviewMark | None) -> ObservedApp:
    return ObservedApp(
        name=name,
        app_id=f"id-{name}",
        active_build_id=f"b-{name}",
        hosts=(ObservedHost(f"{name}.preview.example.com", "active"),),
        env={"LEVEL": "debug"},
        ledger=AppLedger(preview=mark),
    )


MARKS = {
    "web-pr-7": PreviewMark("web", 7, "abc1234", 0, 1 * DAY),  # 11 days old at NOW
    "api-pr-7": PreviewMark("api", 7, None, 0, 1 * DAY),
    "web-pr-9": PreviewMark("web", 9, None, 5 * DAY, 10 * DAY),  # 2 days old
}
APPS = {
    **{name: _app(name, mark) for name, mark in MARKS.items()},
    "web-pr-8": _app("web-pr-8", None),  # a preview's shape of name, but no mark
    "shop": _app("shop", None),  # a production app
}


def _deleting(*names: str) -> Plan:
    """The plan that deletes these apps of APPS (in name order) and leaves every other alone."""
    apps = tuple(
        AppPlan(
            app=name,
            preconditions=Preconditions(
                exists=True,
                app_id=f"id-{name}",
                active_build_id=f"b-{name}",
                hosts=((f"{name}.preview.example.com", "active"),),
                env_keys=("LEVEL",),
            ),
            actions=(
                DeleteApp(
                    app=name,
                    app_id=f"id-{name}",
                    base=MARKS[name].base,
                    pr=MARKS[name].pr,
                    deployed_ms=MARKS[name].deployed_ms,
                ),
            ),
        )
        for name in sorted(names)
    )
    left = tuple(sorted(set(APPS) - set(names)))
    return Plan(project="proj", apps=apps, unmanaged=left, subject="previews")


@pytest.mark.parametrize(
    ("pr", "expected"),
    [
        (7, _deleting("api-pr-7", "web-pr-7")),
        (9, _deleting("web-pr-9")),
        (8, _deleting()),  # web-pr-8 has no mark: never comwit's to delete
        (1, _deleting()),
    ],
    ids=["both-apps-of-7", "one-app-of-9", "unmarked-namesake", "no-such-pr"],
)
def test_down_deletes_the_marked_previews_of_the_pull_request(pr, expected):
    assert down_plan("proj", APPS, pr) == expected


@pytest.mark.parametrize(
    ("older_than", "keep", "closed", "expected"),
    [
        (7 * DAY, (), (), _deleting("api-pr-7", "web-pr-7")),
        (1 * DAY, (), (), _deleting("api-pr-7", "web-pr-7", "web-pr-9")),
        (2 * DAY, (), (), _deleting("api-pr-7", "web-pr-7")),  # exactly 2 days old: not older
        (30 * DAY, (), (), _deleting()),
        (30 * DAY, (), (9,), _deleting("web-pr-9")),
        (7 * DAY, (7,), (9,), _deleting("web-pr-9")),
        (1 * DAY, (7, 9), (7, 9), _deleting()),  # kept wins over stale and closed
        (30 * DAY, (), (8,), _deleting()),  # a closed pull request's unmarked namesake stays
    ],
    ids=[
        "stale",
        "all-stale",
        "age-equal-to-the-limit",
        "none-stale",
        "closed",
        "kept-stale-and-closed",
        "kept-wins",
        "closed-unmarked",
    ],
)
def test_prune_deletes_stale_and_closed_previews_and_never_kept_ones(
    older_than, keep, closed, expected
):
    plan = prune_plan("proj", APPS, now_ms=NOW, older_than_ms=older_than, keep=keep, closed=closed)
    assert plan == expected


def test_marked_are_the_apps_with_a_preview_mark_in_name_order():
    assert list(marked(APPS)) == ["api-pr-7", "web-pr-7", "web-pr-9"]


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("7d", 7 * DAY),
        ("12h", 12 * 3_600_000),
        ("2w", 14 * DAY),
        ("90s", 90_000),
        (" 5m ", 300_000),
    ],
)
def test_durations(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "7", "d", "0d", "1y", "-1d", "1.5d", "7 d"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError, match="write a number and a unit"):
        parse_duration(text)


def test_a_duration_past_six_digits_says_it_is_too_long_not_malformed():
    with pytest.raises(ValueError) as raised:
        parse_duration("99999999999w")
    assert str(raised.value) == "duration '99999999999w' is too long: at most 999999 of its unit"


def test_a_malformed_duration_is_echoed_quoted_and_cut():
    with pytest.raises(ValueError) as info:
        parse_duration("7'd" + "d" * 100)
    assert str(info.value) == (
        f"duration '7'd{'d' * 77}... (103 characters)' is invalid: write a number and a unit, "
        "e.g. '7d', '12h', '2w'"
    )
