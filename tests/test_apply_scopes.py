"""A token short of app:deploy or app:write is found before anything is packed or sent, in
one message naming what the plan needs each scope for; a wrong project lists the projects
the token can see."""

from __future__ import annotations

import time

from tests.e2e_support import PROJECT

READ = ("project:read", "app:read")


def _uploads(world) -> int:
    return sum(1 for name in ("web", "api") for _ in _builds(world, name))


def _builds(world, name):
    apps = {a["name"]: a for a in world.api("apps")["apps"]}
    return world.api(f"apps/{apps[name]['app_id']}/builds")["builds"] if name in apps else []


def test_a_token_without_app_write_is_refused_once_before_anything_changes(world):
    token = world.issue_token(*READ, "app:deploy")
    result = world.comwit("apply", "--yes", env={"COMWIT_TOKEN": token})
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the token lacks app:write, which this plan needs (app:write to create app "
        "(api), create app (web), set env LEVEL (web), attach www.example.com (web)); nothing "
        "was changed: apply with a token that has app:write (plan needs only project:read "
        "and app:read)"
    ]
    assert world.api("apps")["apps"] == []


def test_a_token_without_app_deploy_names_the_uploads(world):
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    world.write("api/server.js", "serve(2)")
    token = world.issue_token(*READ, "app:write")
    result = world.comwit("apply", "--yes", env={"COMWIT_TOKEN": token})
    assert result.code == 1
    assert (
        "error: the token lacks app:deploy, which this plan needs (app:deploy to upload build "
        "(api), upload build (web)); nothing was changed" in result.err
    )
    assert _uploads(world) == 2  # the first apply's builds only


def test_a_read_only_token_is_told_both_scopes_at_once(world):
    token = world.issue_token(*READ)
    result = world.comwit("apply", "--yes", env={"COMWIT_TOKEN": token})
    assert result.code == 1
    assert (
        "error: the token lacks app:deploy and app:write, which this plan needs (app:deploy"
        in result.err
    )
    assert result.err.count("lacks") == 1


def test_a_deploy_only_token_deploys_an_existing_app(world):
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    token = world.issue_token(*READ, "app:deploy")
    result = world.comwit("apply", "--yes", env={"COMWIT_TOKEN": token})
    assert result.code == 0, result.err
    assert len(_builds(world, "web")) == 2


def test_a_saved_plan_is_refused_the_same_way(world):
    assert world.comwit("plan", "--out", "plan.json").code == 0
    token = world.issue_token(*READ, "app:deploy")
    result = world.comwit("apply", "plan.json", env={"COMWIT_TOKEN": token})
    assert result.code == 1
    assert "error: the token lacks app:write, which this plan needs" in result.err
    assert world.api("apps")["apps"] == []


def test_a_wrong_project_lists_the_projects_the_token_can_see(world):
    result = world.comwit("plan", "--project", "prj")
    assert result.code == 1
    assert result.err.splitlines()[-1].startswith(
        "error: project 'prj' is not one this token can see ("
    )
    assert f"it can see: {PROJECT}; did you mean {PROJECT!r}?" in result.err


def test_a_no_op_apply_asks_nothing_and_a_change_asks_twice(world):
    time.sleep(2.1)  # past the stat cache's racy window: the next digest trusts every file
    assert world.comwit("apply", "--yes").code == 0
    world.reset_stats()
    assert world.comwit("apply", "--yes").code == 0
    assert world.stats()["scope_probes"] == 0
    world.write("web/index.html", "<h1>v2</h1>")
    assert world.comwit("apply", "--yes").code == 0
    assert world.stats()["scope_probes"] == 2
