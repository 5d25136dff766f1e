"""The applied state of the plan comment: what apply did, per app, within the budget."""

from __future__ import annotations

from comwit.apply.result import ApplyResult, Outcome
from comwit.render.applied import render_applied
from comwit.render.markdown import marker

from tests.factories import sample_plan


def test_applied_keeps_the_plans_marker_and_says_what_happened():
    plan = sample_plan()
    result = ApplyResult(
        (
            Outcome("api", "done", build_id="b-9", url="https://api.example.net"),
            Outcome("web", "failed", "POST /v1/... failed with 502"),
        )
    )
    text = render_applied(plan, result, commit="0123456789abcdef")
    lines = text.splitlines()
    assert lines[0] == marker("comwit.toml", "demo", None)
    assert lines[1] == "### comwit apply for `demo`"
    assert "**Apply failed at 0123456789abcdef:** 1 done, 1 failed." in text
    assert (
        "| `api` | :white_check_mark: done: build `b-9` is live · <https://api.example.net> |"
        in text
    )
    assert "| `web` | :x: failed: POST /v1/... failed with 502 |" in text
    # Not all of it was applied: the plan is not called applied.
    assert "<details><summary>The plan this apply was making live</summary>" in text
    assert "applied</summary>" not in text
    assert text.count("<!-- comwit:plan") == 1
    done = ApplyResult((Outcome("api", "done", build_id="b-9"), Outcome("web", "unchanged")))
    assert "<summary>The plan that was applied</summary>" in render_applied(plan, done)


def test_nothing_to_apply_says_so():
    text = render_applied(sample_plan(), None, commit="abcdef1")
    assert "**Applied at abcdef1:** nothing to change." in text


def test_applied_stays_within_the_budget_with_many_apps():
    outcomes = tuple(Outcome(f"app-{n:04}", "failed", "x" * 200) for n in range(2000))
    text = render_applied(
        sample_plan(), ApplyResult(outcomes), budget=65_000, full_plan="See the job summary."
    )
    assert len(text) <= 65_000
    assert "more apps. See the job summary. |" in text
