"""Previews in a CI job: the preview's own living comment, `preview-urls`, and prune asking
GitHub / GitLab (loopback stand-ins) which pull requests are closed."""

from __future__ import annotations

import json

from tests.ci_support import parse_outputs


def _names(world) -> set[str]:
    return {app["name"] for app in world.api("apps")["apps"]}


def test_up_in_a_pull_request_job_comments_apart_and_outputs_the_preview_urls(world, github, job):
    env = job.github(github.url)
    assert world.comwit("plan", "--comment", env=env).code == 0
    result = world.comwit("preview", "up", "--comment", env=env)  # the PR comes from the event
    assert result.code == 0, result.err
    assert _names(world) == {"web-pr-7", "api-pr-7"}
    comments = github.comments(7)
    assert len(comments) == 2  # the plan's comment stays; the preview has its own
    preview = comments[-1]["body"]
    assert "environment=preview%20of%20%237" in preview.splitlines()[0]
    urls = json.loads(parse_outputs(job.outputs.read_text())["preview-urls"])
    assert set(urls) == {"web-pr-7", "api-pr-7"}
    assert all(url in preview for url in urls.values())
    assert "| preview | URL | commit | updated |" in preview
    assert f"| `web-pr-7` | <{urls['web-pr-7']}> |" in preview


def test_prune_in_github_actions_deletes_the_previews_of_closed_pull_requests(world, github, job):
    for pr in (7, 8):
        assert world.comwit("preview", "up", "--pr", str(pr), "--app", "web").code == 0
    github.pull_request(7, is_open=False)
    github.pull_request(8, is_open=True)
    env = job.github(github.url, event="schedule")
    result = world.comwit("preview", "prune", "--yes", env=env)
    assert result.code == 0, result.err
    assert _names(world) == {"web-pr-8"}


def test_prune_in_gitlab_ci_deletes_the_previews_of_closed_merge_requests(world, gitlab, job):
    for pr in (3, 4):
        assert world.comwit("preview", "up", "--pr", str(pr), "--app", "api").code == 0
    gitlab.pull_request(3, is_open=True)
    gitlab.pull_request(4, is_open=False)
    result = world.comwit("preview", "prune", "--yes", env=job.gitlab(gitlab.url, number=None))
    assert result.code == 0, result.err
    assert _names(world) == {"api-pr-3"}


def test_prune_outside_a_ci_prunes_by_age_only(world):
    assert world.comwit("preview", "up", "--pr", "5").code == 0
    assert world.comwit("preview", "prune", "--yes").code == 0
    assert _names(world) == {"web-pr-5", "api-pr-5"}


def test_down_in_the_closed_pull_requests_job_moves_the_preview_comment_off_its_urls(
    world, github, job
):
    env = job.github(github.url)
    assert world.comwit("plan", "--comment", env=env).code == 0
    assert world.comwit("preview", "up", "--comment", env=env).code == 0
    plan_comment, preview = github.comments(7)
    urls = json.loads(parse_outputs(job.outputs.read_text())["preview-urls"])
    app_ids = {name: world.app(name)["app_id"] for name in urls}
    github.clear()
    result = world.comwit("preview", "down", "--yes", "--comment", env=env)
    assert result.code == 0, result.err
    assert _names(world) == set()
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/shop/issues/comments/{preview['id']}")
    ]
    plan_after, preview_after = github.comments(7)
    assert plan_after == plan_comment
    body = preview_after["body"]
    assert body.splitlines()[0] == preview["body"].splitlines()[0]  # the same marker
    assert "2 done" in body
    assert (
        f"| `web-pr-7` | :white_check_mark: done: delete app {app_ids['web-pr-7']} with its" in body
    )
    assert not any(url in body for url in urls.values())
