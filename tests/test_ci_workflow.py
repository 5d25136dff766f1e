"""GitHub workflow commands: annotations on manifest lines, escaped as the runner expects."""

from __future__ import annotations

import io

import pytest

from comwit.ci.environment import detect
from comwit.ci.publish import ANNOTATIONS_PER_STEP, annotate
from comwit.ci.workflow import annotation, command, escape_data, escape_property, repository_path
from comwit.errors import Problem
from comwit.secret import Secret


def test_data_escapes_percent_and_line_breaks_so_no_value_starts_a_command():
    assert escape_data("50%\r\n::error::x") == "50%25%0D%0A::error::x"


def test_properties_also_escape_colon_and_comma():
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_names_file_line_and_column():
    problem = Problem("comwit.toml", 4, 9, "apps.web.hosts[0]", "not a hostname: 'a b'")
    assert annotation(problem, "error") == (
        "::error file=comwit.toml,line=4,col=9::apps.web.hosts[0]: not a hostname: 'a b'"
    )


def test_annotation_without_a_position_names_the_file_only():
    assert annotation(Problem("comwit.toml", None, None, "", "no apps"), "warning") == (
        "::warning file=comwit.toml::no apps"
    )


def test_commands_never_show_a_secret():
    Secret("ghs_do_not_show_this")
    assert "ghs_do_not_show_this" not in command(
        "error", "token ghs_do_not_show_this", [("title", "ghs_do_not_show_this")]
    )


def test_paths_are_relative_to_the_checkout(tmp_path):
    (tmp_path / "deploy").mkdir()
    assert repository_path("comwit.toml", tmp_path, cwd=tmp_path / "deploy") == "deploy/comwit.toml"
    assert repository_path("comwit.toml", None) == "comwit.toml"
    assert repository_path("/elsewhere/comwit.toml", tmp_path) == "/elsewhere/comwit.toml"


def test_a_workspace_that_is_a_symlink_loop_leaves_the_path_as_given(tmp_path):
    (tmp_path / "one").symlink_to("two")
    (tmp_path / "two").symlink_to("one")  # GITHUB_WORKSPACE=one: resolve() raises RuntimeError
    assert repository_path("comwit.toml", tmp_path / "one", cwd=tmp_path) == "comwit.toml"


def test_annotations_only_in_github_actions():
    problems = [
        Problem("comwit.toml", 1, 1, "version", "missing"),
        Problem("comwit.toml", 3, 5, "apps.x", "bad"),
    ]
    out = io.StringIO()
    annotate(detect({"GITHUB_ACTIONS": "true"}), problems, "error", out)
    assert out.getvalue().splitlines() == [
        "::error file=comwit.toml,line=1,col=1::version: missing",
        "::error file=comwit.toml,line=3,col=5::apps.x: bad",
    ]
    quiet = io.StringIO()
    annotate(detect({"GITLAB_CI": "true"}), problems, "error", quiet)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(("count", "level"), [(10, "error"), (11, "error"), (60, "warning")])
def test_past_what_github_shows_of_a_step_the_last_annotation_counts_the_rest(count, level):
    problems = [Problem("comwit.toml", n, 1, f"apps.a{n}", "bad") for n in range(1, count + 1)]
    out = io.StringIO()
    annotate(detect({"GITHUB_ACTIONS": "true"}), problems, level, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == min(count, ANNOTATIONS_PER_STEP) == 10
    assert lines[:9] == [
        f"::{level} file=comwit.toml,line={n},col=1::apps.a{n}: bad" for n in range(1, 10)
    ]
    what = "problems" if level == "error" else "warnings"
    assert lines[9] == (
        f"::{level} file=comwit.toml,line=10,col=1::apps.a10: bad"
        if count == 10
        else f"::{level} file=comwit.toml::{count - 9} more manifest {what}: see this step's log"
        " (GitHub shows 10 annotations of a kind per step)"
    )
