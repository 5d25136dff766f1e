"""End to end: a saved plan cannot smuggle actions. Apply derives the actions again from the
manifest, the build dirs and what the plan recorded it observed, and refuses a plan whose
actions differ, naming the first difference, before anything changes at the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from comwit.artifact.digest import digest_tree
from comwit.plan.ledger import Lease, decode, encode

Edit = Callable[[dict[str, Any], Any], None]


def _app(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(app for app in document["plan"]["apps"] if app["app"] == name)


def _action(document: dict[str, Any], app: str, kind: str) -> dict[str, Any]:
    return next(a for a in _app(document, app)["actions"] if a["type"] == kind)


def tamper_value(document, world):
    _action(document, "web", "set_env")["value"] = "hacked"


def tamper_hostname(document, world):
    _action(document, "web", "deploy")["hosts"] = ["evil.example.com"]


def tamper_build_dir(document, world):
    world.write("secrets/id_rsa", "private")
    elsewhere = digest_tree(world.root / "secrets").digest
    deploy = _action(document, "api", "deploy")
    deploy["build_dir"], deploy["digest"] = "secrets", elsewhere
    _action(document, "api", "record_ledger")["digest"] = elsewhere
    document["build_dirs"]["api"] = elsewhere


def tamper_extra_app(document, world):
    extra = json.loads(json.dumps(_app(document, "api")).replace('"api"', '"evil"'))
    document["plan"]["apps"].append(extra)
    document["build_dirs"]["evil"] = document["build_dirs"]["api"]


def tamper_removed_action(document, world):
    app = _app(document, "web")
    app["actions"] = [a for a in app["actions"] if a["type"] != "attach_host"]


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (tamper_value, "app 'web': the action 'web/env/LEVEL/set': value is 'hacked' in the plan "
         "but 'info' from the manifest"),
        (tamper_hostname, "app 'web': the action 'web/deploy': hosts is ['evil.example.com'] in "
         "the plan but [] from the manifest"),
        (tamper_build_dir, "app 'api': the action 'api/deploy': build_dir is 'secrets' in the "
         "plan but 'api' from the manifest"),
        (tamper_extra_app, "app 'evil' is in the plan but not in the manifest"),
        (tamper_removed_action, "app 'web': the plan lacks the action "
         "'web/hosts/www.example.com/attach'"),
    ],
    ids=["set_env value", "deploy hostname", "build dir and digests", "extra app", "removed action"],
)  # fmt: skip
def test_a_tampered_saved_plan_is_refused_whole_and_nothing_changes(world, tmp_path, edit, named):
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    document = json.loads(planfile.read_text())
    edit(document, world)
    planfile.write_text(json.dumps(document))
    world.reset_stats()
    result = world.comwit("apply", str(planfile))
    assert result.code == 1, result.out + result.err
    assert result.err.strip().splitlines()[-1] == (
        f"error: the saved plan does not match the manifest: {named}; it was changed after "
        "`comwit plan --out` wrote it, or made by another comwit: plan again"
    )
    assert world.stats()["mutating"] == 0
    assert world.api("apps")["apps"] == []


def _plan_of_changes_to_live_apps(world, tmp_path):
    """Web's content and env var changed since the last apply: a plan saved of them."""
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text.replace('LEVEL = "info"', 'LEVEL = "debug"'))
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    return planfile


def test_an_untampered_plan_of_changes_to_live_apps_applies_and_converges(world, tmp_path):
    planfile = _plan_of_changes_to_live_apps(world, tmp_path)
    result = world.comwit("apply", str(planfile))
    assert result.code == 0, result.out + result.err
    assert world.comwit("plan", "--detailed-exitcode").code == 0


def test_a_rerun_of_a_plan_whose_run_stopped_part_way_applies_only_the_rest(world, tmp_path):
    planfile = _plan_of_changes_to_live_apps(world, tmp_path)
    # The first run set web's env var, then stopped before its deploy.
    app_id = world.app("web")["app_id"]
    path = f"/v1/projects/proj/apps/{app_id}/environment/LEVEL"
    assert world.request("PUT", path, json={"value": "debug"}, token=world.token).is_success
    world.reset_stats()
    result = world.comwit("apply", str(planfile), "--format", "json")
    assert result.code == 0, result.out + result.err
    assert "web: an earlier run of this plan stopped part-way; applying the rest" in result.err
    web = next(app for app in result.json()["apps"] if app["app"] == "web")
    assert (web["status"], [step.split(":")[0] for step in web["steps"]]) == (
        "done",
        ["upload build"],
    )
    assert world.stats()["deploys"] == 1
    assert world.comwit("plan", "--detailed-exitcode").code == 0


def test_a_plan_whose_recorded_ledger_no_longer_holds_is_stale_not_tampered(world, tmp_path):
    assert world.comwit("apply", "--yes").code == 0
    world.write("api/server.js", "serve(2)")
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    document = json.loads(planfile.read_text())
    document["observed"]["api"]["ledger"] = '{"v":1,"b":{},"h":[]}'
    planfile.write_text(json.dumps(document))
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert "skipped  api  stale plan: its builds or its ledger changed after the plan" in result.out
    assert world.stats()["deploys"] == 2  # the first apply's two, none from the plan


@pytest.mark.parametrize("how", ["--project", "COMWIT_PROJECT"])
def test_a_saved_plan_for_another_project_is_refused_by_option_and_environment(
    world, tmp_path, how
):
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    args, env = (["--project", "other"], {}) if how == "--project" else ([], {how: "other"})
    result = world.comwit("apply", str(planfile), *args, env=env)
    assert result.code == 1
    assert result.err.strip() == "error: the plan is for project 'proj', not 'other'"
    assert world.stats()["mutating"] == 0


def test_a_lease_taken_between_plan_and_apply_neither_goes_into_the_file_nor_makes_it_stale(
    world, tmp_path
):
    assert world.comwit("apply", "--yes").code == 0
    world.write("api/server.js", "serve(2)")
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    # Another run took the app's lease (now expired) after the plan was made.
    app_id = world.app("api")["app_id"]
    path = f"/v1/projects/proj/apps/{app_id}/environment"
    live = {v["key"]: v["value"] for v in world.api(f"apps/{app_id}/environment")["variables"]}
    leased = decode(live["COMWIT_LEDGER"]).with_lease(Lease("other", "ci/1", 1, "t0k3n"))
    body = {"value": encode(leased), "secret": False}
    world.request("PUT", f"{path}/COMWIT_LEDGER", json=body, token=world.token).raise_for_status()
    result = world.comwit("apply", str(planfile))
    assert result.code == 0, result.out + result.err
    assert world.stats()["deploys"] == 3
    assert "t0k3n" not in planfile.read_text()


def test_a_held_back_detach_moved_into_the_actions_is_refused(world, tmp_path):
    text = (world.root / "comwit.toml").read_text()
    two = 'hosts = ["www.example.com", "old.example.com"]\nprotect = true'
    world.manifest(text.replace('hosts = ["www.example.com"]', two))
    assert world.comwit("apply", "--yes").code == 0
    world.manifest(
        text.replace('hosts = ["www.example.com"]', 'hosts = ["www.example.com"]\nprotect = true')
    )
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    document = json.loads(planfile.read_text())
    web = _app(document, "web")
    web["actions"].append(web["held"].pop()["action"])
    planfile.write_text(json.dumps(document))
    world.reset_stats()
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert (
        "app 'web': the action 'web/hosts/old.example.com/detach' is not implied by the manifest"
        in result.err
    )
    assert world.stats()["mutating"] == 0


PLANNING_ONLY = "a saved plan is applied exactly as planned: --app, --exclude-app, --allow-detach"
SAVED_ONLY = "--shard and --result work on a saved plan: `comwit plan --out FILE --shards N`"


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (["PLAN", "--app", "web"], PLANNING_ONLY),
        (["PLAN", "--exclude-app", "web"], PLANNING_ONLY),
        (["PLAN", "--allow-detach", "*"], PLANNING_ONLY),
        (["PLAN", "--allow-delete-env", "*"], PLANNING_ONLY),
        (["--yes", "--shard", "1/2"], SAVED_ONLY),
        (["--yes", "--result", "result.json"], SAVED_ONLY),
    ],
    ids=["app", "exclude-app", "allow-detach", "allow-delete-env", "shard", "result"],
)
def test_options_of_planning_or_of_a_saved_plan_are_refused_where_they_do_not_belong(
    world, tmp_path, args, refused
):
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    result = world.comwit("apply", *(str(planfile) if a == "PLAN" else a for a in args))
    assert result.code == 1
    assert result.err.strip().startswith(f"error: {refused}")
    assert world.stats()["mutating"] == 0
    assert not (world.root / "result.json").exists()


LONG = "x" * 100_000


def _set(document: dict[str, Any], where: str, value: Any) -> None:
    *parents, last = where.split(".")
    for part in parents:
        document = document[int(part)] if part.isdigit() else document[part]  # type: ignore[index]
    document[last] = value


@pytest.mark.parametrize(
    ("where", "value", "named"),
    [
        ("api_url", LONG, "the plan was made against 'xxxxxxxxxx"),
        ("api_url", "http://a\nb", "the plan was made against 'http://a\\nb', not 'http://"),
        ("plan.project", LONG, "cannot be sent: a value in it is too long for a URL"),
        ("manifest.environment", "a\nb", "--env 'a\\nb': this manifest defines no [environments"),
        ("plan.apps.0.actions.0.type", LONG, "plan.apps.0.actions.0: Input tag 'xxxxxxxxxx"),
        ("build_dirs", {LONG: "sha256:0"}, "app 'api' has no recorded build dir digest"),
    ],
    ids=["long api_url", "api_url line break", "long project", "env line break", "long tag", "long key"],
)  # fmt: skip
def test_a_hand_edited_value_is_echoed_in_one_short_line(world, tmp_path, where, value, named):
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    document = json.loads(planfile.read_text())
    _set(document, where, value)
    planfile.write_text(json.dumps(document))
    result = world.comwit("apply", str(planfile), "--yes")
    assert (result.code, result.out) == (1, "")
    (line,) = result.err.strip().splitlines()
    assert named in line
    assert len(line) < 600
    assert world.stats()["mutating"] == 0
