"""End to end in a CI job: `plan --comment` and `apply --comment` against the emulator, with
loopback stand-ins of GitHub and GitLab; the job summary, step outputs and annotations."""

from __future__ import annotations

import json

import pytest

from tests.ci_support import (
    GITHUB_TOKEN,
    GITLAB_TOKEN,
    HEAD,
    MARKER,
    MERGE,
    parse_outputs,
    read_dotenv,
)
from tests.forge_standins import Identity
from tests.shards_support import APPS, CHANGED, twelve_apps

# 260 apps: a plan whose comment is longer than GitHub takes (65,536 characters).
MANY_APPS = 'version = 1\nproject = "proj"\n' + "".join(
    f'[apps.site-{n:03}]\nbuild_dir = "web"\nhosts = ["s{n}.example.com"]\n' for n in range(260)
)


@pytest.fixture
def comwit(world):
    def invoke(*args, env):
        return world.comwit(*args, env=env)

    return invoke


def comment_gets(standin):
    return [r for r in standin.requests if r.method == "GET" and r.path.endswith("/comments")]


def test_first_plan_posts_once_and_the_next_push_patches_the_same_comment_on_page_three(
    world, github, job, comwit
):
    for n in range(210):
        github.seed(7, "reviewer", f"looks good {n}")
    first = comwit("plan", "--comment", env=job.github(github.url))
    assert first.code == 0, first.err
    assert [(r.method, r.path) for r in github.writes()] == [
        ("POST", "/repos/acme/shop/issues/7/comments")
    ]
    mine = github.comments(7)[-1]
    assert mine["author"] == "github-actions[bot]"
    assert mine["body"].startswith(MARKER + "\n### comwit plan for `proj` at " + HEAD)
    assert "Posted the comment on pull request #7" in first.err

    github.clear()
    world.write("web/index.html", "<h1>v2</h1>")
    second = comwit("plan", "--comment", env=job.github(github.url))
    assert second.code == 0, second.err
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/shop/issues/comments/{mine['id']}")
    ]
    assert [r.query.get("page", "1") for r in comment_gets(github)] == ["1", "2", "3"]
    assert len(github.comments(7)) == 211


def test_each_comment_links_the_run_that_wrote_it_and_the_job_summary_does_not(
    world, github, job, comwit
):
    planned = job.github(github.url) | {"GITHUB_RUN_ID": "4242"}
    assert comwit("plan", "--comment", env=planned).code == 0
    run = "https://github.example/acme/shop/actions/runs"
    body = github.comments(7)[0]["body"]
    assert f"<sub>[Workflow run]({run}/4242)</sub>" in body.split("| app |")[0]
    assert "Workflow run" not in job.summary.read_text()
    github.merged(MERGE, 7)
    merged = job.github(github.url, event="push") | {"GITHUB_RUN_ID": "4343"}
    assert comwit("apply", "--yes", "--comment", env=merged).code == 0
    body = github.comments(7)[0]["body"]
    assert f"<sub>[Workflow run]({run}/4343)</sub>" in body and "4242" not in body


def test_a_push_whose_plan_fails_marks_the_comment_out_of_date_until_a_plan_succeeds(
    world, github, job, comwit
):
    manifest = (world.root / "comwit.toml").read_text()
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    planned = github.comments(7)[0]["body"]
    world.manifest(manifest + "[apps.db]\nbuild_dir = 3\n")
    failed = comwit("plan", "--comment", env=job.github(github.url))
    assert failed.code == 1
    assert "\nerror: " in failed.err  # the error itself, as without --comment
    body = github.comments(7)[0]["body"]
    marker, notice = body.split("\n\n", 1)[0].split("\n", 1)
    assert marker == MARKER
    assert f"**Out of date:** the plan of {HEAD} failed:" in notice
    assert "apps.db.build_dir: expected a string" in notice
    assert body.endswith(planned.split("\n", 1)[1])  # the earlier plan, below the notice
    world.manifest(manifest)
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    assert "Out of date" not in github.comments(7)[0]["body"]
    assert [r.method for r in github.writes()] == ["POST", "PATCH", "PATCH"]


def test_a_failed_plan_creates_no_comment(world, github, job, comwit):
    world.manifest("version = 1\nproject = 3\n")
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 1
    assert github.writes() == []


def test_an_apply_that_fails_on_merge_says_so_on_the_plan_comment(world, github, job, comwit):
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    github.merged(MERGE, 7)
    world.write("comwit.toml", "version = 1\nproject = [\n")
    failed = comwit("apply", "--yes", "--comment", env=job.github(github.url, event="push"))
    assert failed.code == 1
    body = github.comments(7)[0]["body"]
    assert f"**Not applied:** the apply of {MERGE} failed:" in body.split("### comwit plan")[0]
    assert GITHUB_TOKEN not in body


def test_two_environments_keep_two_comments(world, github, job, comwit):
    world.manifest(
        (world.root / "comwit.toml").read_text()
        + '[environments.staging.apps.web]\nhosts = ["staging.example.com"]\n'
        + '[environments.prod.apps.web]\nhosts = ["shop.example.com"]\n'
    )
    for env in ("staging", "prod"):
        assert comwit("plan", "--env", env, "--comment", env=job.github(github.url)).code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    for env in ("staging", "prod"):
        assert comwit("plan", "--env", env, "--comment", env=job.github(github.url)).code == 0
    bodies = [c["body"] for c in github.comments(7)]
    assert len(bodies) == 2
    assert "environment=staging -->" in bodies[0].splitlines()[0]
    assert "environment=prod -->" in bodies[1].splitlines()[0]
    assert "staging.example.com" in bodies[0] and "shop.example.com" in bodies[1]
    assert [r.method for r in github.writes()] == ["POST", "POST", "PATCH", "PATCH"]


def test_a_comment_of_another_user_with_our_marker_is_untouched(world, github, job, comwit):
    theirs = github.seed(7, "mallory", MARKER + "\nfake plan")
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    assert github.comments(7)[0] == {
        "id": theirs,
        "author": "mallory",
        "body": MARKER + "\nfake plan",
        "system": False,
    }
    assert [r.method for r in github.writes()] == ["POST"]


def test_a_read_only_token_warns_and_keeps_the_plans_exit_code(github, job, comwit):
    github.add_token(GITHUB_TOKEN, Identity("fork", installation=True, can_write=False))
    result = comwit("plan", "--comment", "--detailed-exitcode", env=job.github(github.url))
    assert result.code == 2
    assert "warning: could not comment on the pull request" in result.err
    assert "403" in result.err and "read-only token" in result.err
    assert github.comments(7) == []


def test_a_fork_pull_requests_plan_is_in_the_job_summary_when_its_token_may_not_comment(
    github, job, comwit
):
    github.add_token(GITHUB_TOKEN, Identity("fork", installation=True, can_write=False))
    env = job.github(github.url, fork="octocat/shop")
    result = comwit("plan", "--comment", "--detailed-exitcode", env=env)
    assert result.code == 2
    (warning,) = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert "a pull request from a fork gets a read-only GITHUB_TOKEN" in warning
    assert warning.endswith(
        "; the plan itself is not affected; it is in the job summary: "
        "https://github.example/acme/shop/actions/runs/4242"
    )
    assert job.summary.read_text().lstrip().startswith(MARKER)
    assert github.comments(7) == []


def test_a_plan_without_changes_creates_no_comment_unless_always(world, github, job, comwit):
    assert comwit("apply", "--yes", env={}).code == 0
    quiet = comwit("plan", "--comment", env=job.github(github.url))
    assert quiet.code == 0 and github.writes() == []
    assert "nothing to say" in quiet.err
    loud = comwit("plan", "--comment", "--comment-on", "always", env=job.github(github.url))
    assert loud.code == 0
    assert "**No changes:**" in github.comments(7)[0]["body"]


def test_a_plan_without_changes_updates_an_existing_comment(world, github, job, comwit):
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    assert comwit("apply", "--yes", env={}).code == 0
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    assert [r.method for r in github.writes()] == ["POST", "PATCH"]
    assert "**No changes:**" in github.comments(7)[0]["body"]


def test_apply_on_merge_moves_the_plans_comment_to_applied(world, github, job, comwit):
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    github.merged(MERGE, 7)
    github.clear()
    applied = comwit("apply", "--yes", "--comment", env=job.github(github.url, event="push"))
    assert applied.code == 0, applied.err
    paths = [(r.method, r.path) for r in github.requests if r.method != "GET" or "pulls" in r.path]
    comment = github.comments(7)[0]
    assert paths == [
        ("GET", f"/repos/acme/shop/commits/{MERGE}/pulls"),
        ("PATCH", f"/repos/acme/shop/issues/comments/{comment['id']}"),
    ]
    assert comment["body"].startswith(MARKER + "\n### comwit apply for `proj`")
    assert f"**Applied at {MERGE}:** 2 done." in comment["body"]
    assert "| `web` | :white_check_mark: done: build `" in comment["body"]


def test_a_sharded_apply_on_merge_moves_the_comment_to_applied_once_from_its_report(
    world, github, job, comwit
):
    twelve_apps(world)
    assert comwit("apply", "--yes", env={}).code == 0
    twelve_apps(world, changed=CHANGED)
    assert comwit("plan", "--comment", env=job.github(github.url)).code == 0
    github.merged(MERGE, 7)
    github.clear()
    push = job.github(github.url, event="push")
    assert comwit("plan", "--out", "plan.json", "--shards", "3", env=push).code == 0
    matrix = json.loads(parse_outputs(job.outputs.read_text())["matrix"])
    results = []
    for n, entry in enumerate(matrix["include"]):
        shard = ("apply", "plan.json", "--shard", entry["shard"], "--result", f"r{n}.json")
        assert comwit(*shard, "--no-summary", env=push).code == 0
        results.append(f"r{n}.json")
    assert github.requests == []  # the plan and the shards leave the comment to the report
    assert comwit("report", *results, "--comment", env=push).code == 0
    comment = github.comments(7)[0]
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/shop/issues/comments/{comment['id']}")
    ]
    assert f"**Applied at {MERGE}:** 9 done." in comment["body"]
    rows = [line for line in comment["body"].splitlines() if line.startswith("| `app")]
    assert [row.split("`")[1] for row in rows[:12]] == APPS
    assert all(":white_check_mark: done" in row for row in rows[:9])


def test_a_plan_over_the_comment_limit_is_cut_and_points_to_the_job_summary(
    world, github, job, comwit
):
    world.manifest(MANY_APPS)
    result = comwit("plan", "--comment", env=job.github(github.url))
    assert result.code == 0, result.err
    (post,) = github.writes()
    assert len(post.body["body"]) <= 65_536
    assert "more app(s) are not shown" in post.body["body"]
    assert "[job summary](https://github.example/acme/shop/actions/runs/4242)" in post.body["body"]
    summary = job.summary.read_text()
    assert "`site-259`" in summary and len(summary) > 65_536


def test_a_merge_request_note_holds_what_a_github_comment_cannot(world, gitlab, job, comwit):
    world.manifest(MANY_APPS)
    result = comwit("plan", "--comment", env=job.gitlab(gitlab.url))
    assert result.code == 0, result.err
    (post,) = gitlab.writes()
    assert 65_536 < len(post.body["body"]) <= 1_000_000
    assert "`site-259`" in post.body["body"] and "not shown" not in post.body["body"]


def test_plan_writes_the_job_summary_and_outputs(world, github, job, comwit):
    result = comwit("plan", "--out", "plan.json", env=job.github(github.url))
    assert result.code == 0, result.err
    assert job.summary.read_text().startswith("\n" + MARKER)
    outputs = parse_outputs(job.outputs.read_text())
    assert outputs["has-changes"] == "true"
    assert (outputs["to-create"], outputs["to-upload"], outputs["to-attach"]) == ("2", "2", "1")
    assert outputs["plan-path"] == "plan.json"
    assert github.requests == []  # no --comment: GitHub is not asked anything


def test_no_summary_leaves_the_job_summary_alone(github, job, comwit):
    assert comwit("plan", "--no-summary", env=job.github(github.url)).code == 0
    assert not job.summary.exists()


def test_apply_outputs_failed_apps_and_urls(world, github, job, comwit):
    result = comwit("apply", "--yes", env=job.github(github.url, event="push"))
    assert result.code == 0, result.err
    outputs = parse_outputs(job.outputs.read_text())
    assert json.loads(outputs["failed-apps"]) == []
    urls = json.loads(outputs["urls"])
    assert sorted(urls) == ["api", "web"]
    assert all(url.startswith("https://") and url in result.out for url in urls.values())
    assert outputs["done"] == "2"
    assert "### comwit apply for `proj`" in job.summary.read_text()


def test_rollback_in_a_ci_job_writes_the_job_summary_and_outputs(world, github, job, comwit):
    assert comwit("apply", "--yes", env={}).code == 0
    first = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    assert comwit("apply", "--yes", env={}).code == 0
    result = comwit("rollback", "web", "--yes", env=job.github(github.url, event="push"))
    assert result.code == 0, result.err
    assert world.app("web")["active_build_id"] == first
    outputs = parse_outputs(job.outputs.read_text())
    assert (outputs["done"], outputs["to-rollback"], json.loads(outputs["failed-apps"])) == (
        "1",
        "1",
        [],
    )
    assert json.loads(outputs["urls"])["web"] in result.out
    summary = job.summary.read_text()
    assert first in summary and "web" in summary
    assert github.writes() == []  # a rollback is no pull request's: no comment


def test_a_failed_rollback_in_a_ci_job_names_the_app_in_failed_apps(world, github, job, comwit):
    assert comwit("apply", "--yes", env={}).code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    assert comwit("apply", "--yes", env={}).code == 0
    world.admin("POST", "faults/fail", {"route": "rollback", "count": 10, "status": 500})
    result = comwit("rollback", "web", "--yes", env=job.github(github.url, event="push"))
    assert result.code == 1
    outputs = parse_outputs(job.outputs.read_text())
    assert json.loads(outputs["failed-apps"]) == ["web"]
    assert outputs["failed"] == "1"


def test_tokens_never_reach_output_summary_outputs_or_comments(world, github, job, comwit):
    world.write("web/leak.txt", GITHUB_TOKEN)  # a token that ends up in a build dir's file
    result = comwit("plan", "--comment", "-v", env=job.github(github.url))
    assert result.code == 0, result.err
    shown = result.out + result.err + job.summary.read_text() + job.outputs.read_text()
    shown += "".join(c["body"] for c in github.comments(7))
    assert GITHUB_TOKEN not in shown and world.token not in shown


def test_comment_outside_ci_is_a_warning(comwit):
    result = comwit("plan", "--comment", env={})
    assert result.code == 0
    assert "warning: not commenting: --comment works in GitHub Actions and GitLab CI" in result.err


def test_validate_in_github_actions_annotates_each_problem(world, job, comwit):
    world.manifest(
        'version = 1\nproject = "proj"\n[apps.web]\nbuild_dir = "web"\nhosts = ["not a host"]\n'
        '[apps.api]\nbuild_dir = "api"\nmax_concurrent_requests = "ten"\n'
    )
    result = comwit("validate", env=job.github("http://127.0.0.1:9"))
    assert result.code == 1
    annotations = [line for line in result.err.splitlines() if line.startswith("::error ")]
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(annotations) == len(errors) == 2
    assert annotations[0].startswith("::error file=comwit.toml,line=5,col=")
    assert annotations[1].startswith("::error file=comwit.toml,line=8,col=")
    assert result.out == ""


def test_gitlab_merge_request_note_created_then_updated_then_applied(world, gitlab, job, comwit):
    for n in range(130):
        gitlab.seed(3, "reviewer", f"note {n}")
    assert comwit("plan", "--comment", env=job.gitlab(gitlab.url)).code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    assert comwit("plan", "--comment", env=job.gitlab(gitlab.url)).code == 0
    note = gitlab.comments(3)[-1]
    assert [(r.method, r.path) for r in gitlab.writes()] == [
        ("POST", "/api/v4/projects/1234/merge_requests/3/notes"),
        ("PUT", f"/api/v4/projects/1234/merge_requests/3/notes/{note['id']}"),
    ]
    pages = [r.query["page"] for r in gitlab.requests if r.method == "GET" and "notes" in r.path]
    assert pages == ["1", "2", "1", "2"]
    gitlab.merged(MERGE, 3)
    applied = comwit(
        "apply", "--yes", "--comment", env=job.gitlab(gitlab.url, number=None, sha=MERGE)
    )
    assert applied.code == 0, applied.err
    body = gitlab.comments(3)[-1]["body"]
    assert f"**Applied at {MERGE}:** 2 done." in body
    assert "<sub>[Job log](https://gitlab.example/acme/shop/-/jobs/77)</sub>" in body
    assert len(gitlab.comments(3)) == 131


def test_gitlab_jobs_get_the_outputs_as_a_dotenv_report(world, gitlab, job, comwit):
    planned = comwit("plan", "--out", "plan.json", env=job.gitlab(gitlab.url))
    assert planned.code == 0, planned.err
    values = read_dotenv(job.dotenv)
    assert (values["COMWIT_HAS_CHANGES"], values["COMWIT_TO_CREATE"]) == ("true", "2")
    assert values["COMWIT_PLAN_PATH"] == "plan.json"
    applied = comwit("apply", "plan.json", env=job.gitlab(gitlab.url))
    assert applied.code == 0, applied.err
    values = read_dotenv(job.dotenv)
    assert sorted(json.loads(values["COMWIT_URLS"])) == ["api", "web"]
    assert (values["COMWIT_DONE"], values["COMWIT_FAILED_APPS"]) == ("2", "[]")
    assert "warning" not in applied.err and GITLAB_TOKEN not in job.dotenv.read_text()


def test_no_token_to_comment_with_is_a_warning_that_says_how(github, job, comwit):
    environ = job.github(github.url) | {"GITHUB_TOKEN": ""}
    result = comwit("plan", "--comment", "--detailed-exitcode", env=environ)
    assert result.code == 2
    assert "warning: not commenting: no token to comment with" in result.err
    assert "GITHUB_TOKEN: ${{ github.token }}" in result.err
    assert github.requests == []


def test_json_plan_stays_one_document_on_stdout_in_a_ci_job(github, job, comwit):
    result = comwit("plan", "--format", "json", "--comment", env=job.github(github.url))
    assert result.code == 0, result.err
    assert result.json()["has_changes"] is True
    assert "Posted the comment" in result.err


def test_validate_warnings_are_annotations_too(world, job, comwit):
    world.manifest(
        'version = 1\nproject = "proj"\n[apps.web]\nbuild_dir = "web"\n'
        '[apps.web.env]\nDB = "${DATABASE_URL}"\n'
    )
    result = comwit("validate", "--allow-missing-vars", env=job.github("http://127.0.0.1:9"))
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("::warning ")]
    assert len(warnings) == 1
    assert warnings[0].startswith("::warning file=comwit.toml,line=6,col=")
    assert "DATABASE_URL" in warnings[0]


def test_plan_warnings_about_the_manifest_are_annotations_too(world, job, comwit):
    world.manifest(
        (world.root / "comwit.toml").read_text() + '[environments.other]\nproject = "proj-other"\n'
    )
    result = comwit("plan", "--env", "other", env=job.github("http://127.0.0.1:9"))
    warnings = [line for line in result.err.splitlines() if line.startswith("::warning ")]
    assert warnings and warnings[0].startswith("::warning file=comwit.toml,line=")
    assert "www.example.com" in warnings[0]


def test_applying_the_reviewed_saved_plan_moves_its_comment_to_applied(world, github, job, comwit):
    planned = comwit("plan", "--comment", "--out", "plan.json", env=job.github(github.url))
    assert planned.code == 0, planned.err
    assert parse_outputs(job.outputs.read_text())["plan-path"] == "plan.json"
    github.merged(MERGE, 7)
    applied = comwit("apply", "plan.json", "--comment", env=job.github(github.url, event="push"))
    assert applied.code == 0, applied.err
    (comment,) = github.comments(7)
    assert f"**Applied at {MERGE}:** 2 done." in comment["body"]
    assert [r.method for r in github.writes()] == ["POST", "PATCH"]


def test_a_rate_limit_longer_than_the_run_allows_warns_and_keeps_the_plans_exit_code(
    github, job, comwit
):
    github.spend(GITHUB_TOKEN, left=0, reset_in=3000)
    result = comwit("plan", "--comment", "--detailed-exitcode", env=job.github(github.url))
    assert result.code == 2
    (warning,) = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert "could not comment on the pull request" in warning
    assert "rate limited (API rate limit exceeded" in warning
    assert "the next run updates the comment; the plan itself is not affected" in warning
    assert len(github.requests) == 1 and github.comments(7) == []


def test_gitlab_without_a_note_token_says_the_job_token_cannot_write_notes(gitlab, job, comwit):
    environ = job.gitlab(gitlab.url) | {"COMWIT_GITLAB_TOKEN": "", "CI_JOB_TOKEN": "job-token-x1"}
    result = comwit("plan", "--comment", "--detailed-exitcode", env=environ)
    assert result.code == 2
    (warning,) = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert "set COMWIT_GITLAB_TOKEN to a project access token with the api scope" in warning
    assert "CI_JOB_TOKEN may not write merge-request notes" in warning
    assert gitlab.requests == [] and "job-token-x1" not in result.out + result.err
