"""The CI edge reads GitHub Actions', GitLab CI's or any CI's environment into plain values."""

from __future__ import annotations

import pytest

from comwit.ci.environment import MAX_EVENT_BYTES, detect
from comwit.ci.tokens import remember_tokens
from comwit.escape import quoted
from comwit.secret import redact

from tests.ci_support import github_env


def test_outside_ci_nothing_is_detected():
    ctx = detect({"HOME": "/home/x", "GITHUB_TOKEN": "ghp_notinci"})
    assert ctx.kind is None and not ctx.forge and ctx.token is None


def test_any_other_ci_is_plain():
    ctx = detect({"CI": "true"})
    assert ctx.kind == "other" and not ctx.forge and ctx.summary_path is None


def test_github_pull_request_event_gives_number_and_head_commit(tmp_path):
    event = {"pull_request": {"number": 42, "head": {"sha": "a" * 40}}}
    environ = github_env(
        tmp_path,
        event=event,
        GITHUB_TOKEN="ghs_installation_token_1",
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_OUTPUT=str(tmp_path / "out"),
        GITHUB_WORKSPACE=str(tmp_path),
    )
    ctx = detect(environ)
    assert (ctx.kind, ctx.repository, ctx.pull_request, ctx.sha) == (
        "github",
        "acme/shop",
        42,
        "a" * 40,
    )
    assert ctx.api_url == "https://api.github.com"
    assert ctx.run_url == "https://github.com/acme/shop/actions/runs/99"
    assert ctx.summary_path == tmp_path / "summary.md" and ctx.output_path == tmp_path / "out"
    assert str(ctx.token) == "<hidden>" and ctx.token.reveal() == "ghs_installation_token_1"


def test_github_push_has_no_pull_request_yet_and_uses_the_pushed_commit(tmp_path):
    ctx = detect(github_env(tmp_path, event_name="push", event={"after": "f" * 40}))
    assert ctx.pull_request is None and ctx.sha == "f" * 40


def test_github_enterprise_api_url_and_comwit_token_first(tmp_path):
    environ = github_env(
        tmp_path,
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        GITHUB_TOKEN="ghs_actions_token_123",
        COMWIT_GITHUB_TOKEN="ghp_personal_token_456",
    )
    ctx = detect(environ)
    assert ctx.api_url == "https://ghe.example.com/api/v3"
    assert ctx.token.reveal() == "ghp_personal_token_456"


def test_an_unreadable_event_file_is_a_warning_not_a_crash(tmp_path):
    environ = github_env(tmp_path)
    (tmp_path / "event.json").write_text("{not json")
    ctx = detect(environ)
    assert ctx.pull_request is None
    assert "GITHUB_EVENT_PATH" in ctx.warnings[0]


def test_an_event_file_past_its_limit_is_a_warning_naming_the_limit(tmp_path):
    environ = github_env(tmp_path)
    with (tmp_path / "event.json").open("r+b") as file:
        file.truncate(MAX_EVENT_BYTES + 1)  # sparse: takes no space
    ctx = detect(environ)
    assert ctx.pull_request is None
    assert "(larger than 64 MiB); no pull request" in ctx.warnings[0]


def test_issue_comment_on_a_pull_request(tmp_path):
    event = {"issue": {"number": 5, "pull_request": {"url": "x"}}}
    assert detect(github_env(tmp_path, event_name="issue_comment", event=event)).pull_request == 5


def test_gitlab_merge_request_pipeline():
    environ = {
        "GITLAB_CI": "true",
        "CI_PROJECT_ID": "1234",
        "CI_MERGE_REQUEST_IID": "17",
        "CI_COMMIT_SHA": "b" * 40,
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/5",
        "COMWIT_GITLAB_TOKEN": "glpat-secret-value",
    }
    ctx = detect(environ)
    assert (ctx.kind, ctx.repository, ctx.pull_request, ctx.sha) == ("gitlab", "1234", 17, "b" * 40)
    assert ctx.api_url == "https://gitlab.example.com/api/v4"
    assert ctx.token.reveal() == "glpat-secret-value"
    assert ctx.summary_path is None and not ctx.github


def test_ci_tokens_are_redacted_from_any_text():
    remember_tokens(
        {"GITHUB_TOKEN": "ghs_redact_me_please", "COMWIT_GITLAB_TOKEN": "glpat-redact-me"}
    )
    assert redact("a ghs_redact_me_please b glpat-redact-me") == "a <hidden> b <hidden>"


def test_a_token_with_a_control_character_is_redacted_also_as_an_error_escapes_it():
    remember_tokens({"GITHUB_TOKEN": "ghs_two\nlines_x1", "COMWIT_GITLAB_TOKEN": "glpat-é-x1"})
    # What h11 says of a header it refuses, with the value as bytes.
    said = "LocalProtocolError: Illegal header value b'Bearer ghs_two\\nlines_x1'"
    assert redact(said) == "LocalProtocolError: Illegal header value b'Bearer <hidden>'"
    assert redact("b'glpat-\\xc3\\xa9-x1' or glpat-\\xe9-x1") == "b'<hidden>' or <hidden>"


def test_a_merged_pull_requests_closed_event_is_about_its_merge_commit(tmp_path):
    pull = {"number": 8, "merged": True, "merge_commit_sha": "c" * 40, "head": {"sha": "d" * 40}}
    ctx = detect(github_env(tmp_path, event={"action": "closed", "pull_request": pull}))
    assert (ctx.pull_request, ctx.sha) == (8, "c" * 40)


def _pull_from(tmp_path, head_repo):
    event = {"pull_request": {"number": 5, "head": {"sha": "a" * 40, "repo": head_repo}}}
    return detect(github_env(tmp_path, event=event))


def test_a_pull_request_from_another_repository_is_a_fork(tmp_path):
    assert _pull_from(tmp_path, {"full_name": "octocat/shop", "fork": True}).fork is True


def test_a_branch_of_a_repository_that_is_itself_a_fork_is_not_a_fork_pull_request(tmp_path):
    """GitHub's `fork` flag says the repository is a fork of another, not that the pull
    request comes from one: acme/shop may be a fork, and its own branches are its own."""
    assert _pull_from(tmp_path, {"full_name": "Acme/Shop", "fork": True}).fork is False
    assert detect(github_env(tmp_path, event_name="push")).fork is False


def test_a_pull_request_whose_fork_was_deleted_is_a_fork(tmp_path):
    assert _pull_from(tmp_path, None).fork is True


@pytest.mark.parametrize("sha", ["--output=/tmp/x", "a\0b", "HEAD~1", "g" * 40, "abc"])
def test_a_commit_that_is_no_sha_is_said_and_left_out(tmp_path, sha):
    """It goes to `git show SHA` (where `--output=FILE` emptied FILE) and to GitHub."""
    pushed = detect(github_env(tmp_path, event_name="push", GITHUB_SHA=sha))
    assert pushed.sha is None
    assert pushed.warnings == (
        f"GITHUB_SHA is not a commit SHA ({quoted(sha)}); no commit is recorded for this run",
    )
    event = {"pull_request": {"number": 7, "head": {"sha": sha}}}
    pulled = detect(github_env(tmp_path, event=event))
    assert (pulled.sha, pulled.pull_request) == (None, 7)
    assert (
        "the event file's head commit ($GITHUB_EVENT_PATH) is not a commit SHA"
        in pulled.warnings[0]
    )
    gitlab = detect({"GITLAB_CI": "true", "CI_COMMIT_SHA": sha})
    assert gitlab.sha is None and gitlab.warnings[0].startswith("CI_COMMIT_SHA is not a commit SHA")


def test_a_commit_sha_is_taken_as_git_writes_it(tmp_path):
    upper = "ABCDEF1" + "0" * 33
    assert (
        detect(github_env(tmp_path, event_name="push", GITHUB_SHA=f" {upper} ")).sha
        == upper.lower()
    )
    assert detect({"GITLAB_CI": "true", "CI_COMMIT_SHA": "a" * 64}).sha == "a" * 64
