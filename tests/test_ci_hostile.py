"""A CI job's environment at its worst: event files nested without end, FIFOs and devices
where the summary and outputs go, odd merge request numbers, a malformed API URL. Each is a
warning or no pull request; the plan itself still ends with its own exit code, at once."""

from __future__ import annotations

import pytest

from comwit.ci.environment import detect
from comwit.preview.names import MAX_PR

from tests.ci_support import github_env, parse_outputs
from tests.special_files import fifo_opened_later


def test_an_event_file_nested_too_deeply_is_a_warning_not_a_bug(tmp_path):
    environ = github_env(tmp_path)
    (tmp_path / "event.json").write_text('{"pull_request": ' * 100_000 + "{}" + "}" * 100_000)
    ctx = detect(environ)
    assert ctx.pull_request is None
    assert ctx.warnings == (
        "cannot read the event file $GITHUB_EVENT_PATH (nested too deeply); no pull request",
    )


def test_an_event_file_that_is_a_fifo_or_a_device_is_not_waited_on_or_read(tmp_path):
    environ = github_env(tmp_path)
    (tmp_path / "event.json").unlink()
    with fifo_opened_later(tmp_path / "event.json", "w"):
        ctx = detect(environ)
    assert "(is a FIFO, not a regular file)" in ctx.warnings[0]
    ctx = detect(environ | {"GITHUB_EVENT_PATH": "/dev/zero"})
    assert "(is a character device, not a regular file)" in ctx.warnings[0]


@pytest.mark.parametrize("iid", ["²", "9" * 5000, "0", str(MAX_PR + 1), "-3", " 4"])
def test_a_merge_request_iid_that_is_no_usable_number_means_no_merge_request(iid):
    environ = {"GITLAB_CI": "true", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": iid}
    assert detect(environ).pull_request is None
    assert detect(environ | {"CI_MERGE_REQUEST_IID": "17"}).pull_request == 17


@pytest.mark.parametrize("number", [0, -1, MAX_PR + 1, 10**40, True, 1.0, "7"])
def test_an_event_pull_request_number_out_of_range_means_no_pull_request(tmp_path, number):
    event = {"pull_request": {"number": number, "head": {"sha": "a" * 40}}}
    assert detect(github_env(tmp_path, event=event)).pull_request is None
    event["pull_request"]["number"] = 17
    assert detect(github_env(tmp_path, event=event)).pull_request == 17


def test_a_long_job_summary_or_outputs_path_is_named_short_by_its_file(
    world, github, job, tmp_path
):
    deep = tmp_path / ("s" * 300)  # a name the system refuses: the write fails
    env = job.github(github.url) | {
        "GITHUB_STEP_SUMMARY": str(deep / "summary.md"),
        "GITHUB_OUTPUT": str(deep / "outputs.txt"),
    }
    result = world.comwit("plan", env=env)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "cannot write the" in line]
    assert len(warnings) == 2, result.err
    assert "summary.md (" in warnings[0] and "outputs.txt (" in warnings[1]
    assert all(len(line) < 300 for line in warnings)


def test_a_fifo_as_job_summary_and_outputs_warns_and_the_plan_ends(world, github, job):
    env = job.github(github.url)
    with (
        fifo_opened_later(job.summary, "r"),
        fifo_opened_later(job.outputs, "r"),
    ):
        result = world.comwit("plan", env=env)
    assert result.code == 0, result.err
    assert f"cannot write the job summary {job.summary}: is a FIFO" in result.err
    assert f"cannot write the step outputs {job.outputs}: is a FIFO" in result.err


def test_outputs_are_still_appended_to_a_regular_file(world, github, job):
    job.outputs.write_text("earlier=1\n")
    assert world.comwit("plan", env=job.github(github.url)).code == 0
    outputs = parse_outputs(job.outputs.read_text())
    assert outputs["earlier"] == "1" and outputs["has-changes"] == "true"


def test_a_malformed_ci_api_url_is_a_warning_and_the_plan_keeps_its_exit_code(world, job):
    result = world.comwit("plan", "--comment", env=job.github("http://[::1"))
    assert result.code == 0, result.err
    assert "warning: not commenting: GITHUB_API_URL is not a URL; fix it" in result.err
    assert "hit a bug" not in result.err
    assert len(result.err.splitlines()) <= 3


def test_a_commit_sha_that_is_a_git_option_is_never_given_to_git(world, github, job):
    """`git show -s --format=%ct --output=FILE` emptied FILE: the SHA is checked first."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(world.root)], check=True, timeout=60)
    victim = world.root / "victim.txt"
    victim.write_text("keep")
    env = job.github(github.url, event="push") | {"GITHUB_SHA": f"--output={victim}"}
    result = world.comwit("plan", env=env)
    assert result.code == 0, result.err
    assert victim.read_text() == "keep"
    assert "warning: GITHUB_SHA is not a commit SHA ('--output=/" in result.err  # cut at 80


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("GITHUB_REPOSITORY", "../..", "GITHUB_REPOSITORY is not owner/name ('../..')"),
        ("GITHUB_REPOSITORY", "a/..", "is not owner/name"),
        ("GITHUB_REPOSITORY", "a/b/c", "is not owner/name"),
        ("GITHUB_REPOSITORY", "noslash", "is not owner/name"),
        ("GITHUB_REPOSITORY", "o/r\udcff", "has a control character or a byte that is not UTF-8"),
        ("GITHUB_RUN_ID", "12\n3", "has a control character"),
        ("GITHUB_RUN_ID", "1x", "GITHUB_RUN_ID is not a number ('1x')"),
        ("GITHUB_SERVER_URL", "https://ghe.example/\udcff", "GITHUB_SERVER_URL has a control"),
    ],
)
def test_a_ci_variable_that_cannot_go_into_a_url_or_comment_is_left_out_with_a_warning(
    tmp_path, name, value, says
):
    ctx = detect(github_env(tmp_path) | {name: value})
    assert any(says in warning and warning.endswith("; it is left out") for warning in ctx.warnings)
    assert ctx.run_url is None  # no link made of it
    assert "\udcff" not in repr(ctx.warnings)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CI_PROJECT_ID", "g/../p", "CI_PROJECT_ID is not a project id or path ('g/../p')"),
        ("CI_JOB_URL", "https://gitlab.example/\udcff", "CI_JOB_URL has a control character"),
        ("CI_MERGE_REQUEST_IID", "5x", "CI_MERGE_REQUEST_IID is not a merge request number"),
    ],
)
def test_gitlab_variables_that_cannot_be_used_are_said(name, value, says):
    environ = {"GITLAB_CI": "true", "CI_PROJECT_ID": "group/shop", "CI_MERGE_REQUEST_IID": "4"}
    ctx = detect(environ | {name: value})
    assert any(says in warning for warning in ctx.warnings), ctx.warnings
    assert detect(environ).warnings == ()
    assert detect(environ).repository == "group/shop"


@pytest.mark.parametrize(
    "token",
    [
        "ghs_first_half\nsecond_half_x1",
        "ghs_first_half\rsecond_half_x1",
        "ghs_secret\u00a0token_x1",
    ],
)
def test_a_ci_token_no_header_can_carry_is_never_sent_and_never_shown(world, github, job, token):
    env = job.github(github.url) | {"GITHUB_TOKEN": token}
    result = world.comwit("apply", "--yes", "--comment", env=env)
    assert result.code == 0, result.err  # the deploy stands
    assert "warning: not commenting: the CI token (COMWIT_GITHUB_TOKEN / GITHUB_TOKEN) has a" in (
        result.err
    )
    assert github.requests == []
    for part in ("first_half", "second_half", "ghs_secret", "token_x1"):
        assert part not in result.out + result.err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://192.0.2.1", "refusing plain http:// for 192.0.2.1 (GITHUB_API_URL)"),
        ("http://u:pw@127.0.0.1:9", "GITHUB_API_URL must not hold a user name, password"),
        ("ftp://127.0.0.1:9", "GITHUB_API_URL ('ftp://127.0.0.1:9') is not an http(s) URL"),
    ],
)
def test_a_ci_api_url_the_token_should_not_go_to_is_refused_before_any_request(
    world, job, url, says
):
    result = world.comwit("plan", "--comment", env=job.github(url))
    assert result.code == 0, result.err
    assert f"warning: not commenting: {says}" in result.err
    assert "Connect" not in result.err  # refused before any connection was tried


def test_a_repository_that_is_not_owner_name_sends_nothing(world, github, job):
    result = world.comwit(
        "plan", "--comment", env=job.github(github.url) | {"GITHUB_REPOSITORY": "../.."}
    )
    assert result.code == 0, result.err
    assert "warning: GITHUB_REPOSITORY is not owner/name ('../..'); it is left out" in result.err
    assert "warning: not commenting: the CI names no repository" in result.err
    assert github.requests == []


def test_a_server_url_that_is_not_utf8_leaves_the_run_link_out_of_a_comment_still_posted(
    world, github, job
):
    env = job.github(github.url) | {"GITHUB_SERVER_URL": "https://ghe.example/\udcff"}
    result = world.comwit("plan", "--comment", env=env)
    assert result.code == 0, result.err
    assert "Posted the comment on pull request #7" in result.err
    assert "hit a bug" not in result.err
    assert "actions/runs" not in github.comments(7)[-1]["body"]


def test_an_api_url_that_is_set_but_cannot_be_used_sends_the_token_nowhere(tmp_path):
    """Not to the public api.github.com either: that is not the host the CI meant."""
    from comwit.ci.comment import open_forge
    from comwit.ci.forge import ForgeError

    environ = github_env(tmp_path) | {
        "GITHUB_API_URL": "https://ghe.example/api/\udcff",
        "GITHUB_TOKEN": "ghs_enterprise_token_x1",
    }
    ctx = detect(environ)
    assert ctx.api_url is None
    with pytest.raises(ForgeError, match="GITHUB_API_URL cannot be used"):
        open_forge(ctx)
    gitlab = detect({"GITLAB_CI": "true", "CI_PROJECT_ID": "1", "CI_API_V4_URL": "http://\x00"})
    assert gitlab.api_url is None
