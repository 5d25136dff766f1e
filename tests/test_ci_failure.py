"""The notice a failed `plan --comment` or `apply --comment` puts on the living comment."""

from __future__ import annotations

from comwit.ci.comment import FAILED, with_notice
from comwit.ci.environment import CiContext
from comwit.ci.failure import failure_notice
from comwit.render.markdown import is_marker, marker

CTX = CiContext(kind="github", sha="c" * 40, run_url="https://github.example/o/r/actions/runs/9")
BODY = marker("comwit.toml", "proj", None) + "\n### comwit plan for `proj`\n\n**Plan:** ...\n"


def test_the_notice_goes_under_the_marker_and_keeps_what_the_comment_showed():
    noted = with_notice(BODY, failure_notice(CTX, "plan", "comwit.toml:3:1: bad"))
    marker_line, flag, *notice = noted.split("\n\n", 1)[0].split("\n")
    assert (marker_line, flag) == (BODY.split("\n", 1)[0], FAILED)
    assert (
        notice[1] == f"> **Out of date:** the plan of {'c' * 40} failed: ` comwit.toml:3:1: bad `"
    )
    assert notice[-1] == "> <sub>[Workflow run](https://github.example/o/r/actions/runs/9)</sub>"
    assert noted.endswith(BODY.split("\n", 1)[1])


def test_a_second_failure_replaces_the_first_notice():
    once = with_notice(BODY, failure_notice(CTX, "plan", "first"))
    twice = with_notice(once, failure_notice(CTX, "apply", "second"))
    assert twice.count(FAILED) == 1 and "first" not in twice
    assert "**Not applied:** the apply of" in twice and twice.endswith(BODY.split("\n", 1)[1])


def test_an_error_with_backticks_cannot_end_its_code_span():
    notice = failure_notice(CTX, "plan", "bad value ``x``\nsecond line")
    assert "``` bad value ``x`` second line ```" in notice


def test_an_unknown_project_matches_the_marker_of_any_project_of_that_manifest_and_env():
    line = marker("deploy/comwit.toml", "shop-prod", "prod")
    assert is_marker(line, "deploy/comwit.toml", None, "prod")
    assert is_marker(line, "deploy/comwit.toml", "shop-prod", "prod")
    assert not is_marker(line, "deploy/comwit.toml", "other", "prod")
    assert not is_marker(line, "deploy/comwit.toml", None, None)
    assert not is_marker(line, "comwit.toml", None, "prod")
    assert not is_marker(line + " ", "deploy/comwit.toml", None, "prod")
