"""End to end: the real CLI plans against the emulator over loopback HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.e2e_support import MANIFEST, PROJECT, actions


def test_fresh_project_plans_creates_and_uploads(world):
    result = world.comwit("plan", "--detailed-exitcode")
    assert result.code == 2, result.err
    assert (
        "Plan: 2 apps to create, 2 to upload, 1 hostname to attach, 1 env var to set." in result.out
    )
    plan = world.plan_json()
    assert actions(plan) == [
        "api/create_app",
        "api/deploy",
        "api/record_ledger",
        "web/create_app",
        "web/set_env",
        "web/deploy",
        "web/record_ledger",
        "web/attach_host",
    ]
    assert world.stats()["mutating"] == 0


def test_after_apply_the_plan_is_empty_with_exit_code_0(world):
    assert world.comwit("apply", "--yes").code == 0
    result = world.comwit("plan", "--detailed-exitcode")
    assert result.code == 0, result.out + result.err
    assert "No changes: 2 apps unchanged." in result.out


def test_one_changed_file_plans_exactly_one_upload_with_file_counts(world):
    world.comwit("apply", "--yes")
    world.write("web/index.html", "<h1>v2</h1>")
    plan = world.plan_json()
    assert actions(plan) == ["web/deploy", "web/record_ledger"]
    deploy = plan["apps"][1]["actions"][0]
    assert deploy["reason"] == "content_changed"
    assert (deploy["tree_changes"]["added"], deploy["tree_changes"]["changed"]) == (0, 1)


def test_reverting_plans_an_activation_of_the_old_build_without_upload(world):
    world.comwit("apply", "--yes")
    first = world.app("web")["active_build_id"]
    world.write("web/index.html", "<h1>v2</h1>")
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/index.html", "<h1>v1</h1>")
    plan = world.plan_json()
    assert actions(plan) == ["web/activate", "web/record_ledger"]
    assert plan["apps"][1]["actions"][0]["build_id"] == first
    assert plan["apps"][1]["actions"][0]["reason"] == "matches_existing"


def test_plan_works_with_read_only_scopes(world, emulator_scopes):
    world.comwit("apply", "--yes")
    world.token = emulator_scopes("project:read", "app:read")
    world.write("web/index.html", "<h1>v2</h1>")
    result = world.comwit("plan", "--detailed-exitcode")
    assert result.code == 2, result.err
    assert "1 to upload" in result.out


def test_markdown_plan_for_a_pull_request(world):
    result = world.comwit("plan", "--format", "markdown")
    assert result.code == 0
    assert result.out.startswith(
        "<!-- comwit:plan manifest=comwit.toml project=proj environment= -->\n"
    )
    assert "| `web` (new) |" in result.out


def test_unknown_app_glob_is_an_error(world):
    result = world.comwit("plan", "--app", "nope*")
    assert result.code == 1
    assert result.err.strip().endswith(
        "error: --app 'nope*' matches no app in the manifest (apps: api, web)"
    )


def test_app_filters_limit_what_is_observed_and_planned(world):
    plan = world.plan_json("--app", "w*")
    assert [app["app"] for app in plan["apps"]] == ["web"]
    plan = world.plan_json("--exclude-app", "w*")
    assert [app["app"] for app in plan["apps"]] == ["api"]


def test_live_apps_not_in_the_manifest_are_named_by_plan_and_status_and_never_touched(world):
    world.comwit("apply", "--yes")
    world.manifest(
        """\
        version = 1
        project = "proj"
        [apps.api]
        build_dir = "api"
        max_concurrent_requests = 10
        """
    )
    line = "Not in the manifest, left alone: 1 live app (web)."
    result = world.comwit("plan", "--detailed-exitcode")
    assert result.code == 0
    assert line in result.out.splitlines()
    assert line in world.comwit("status").out.splitlines()
    assert world.comwit("status", "--format", "json").json()["unmanaged"] == ["web"]
    assert line in world.comwit("plan", "--format", "markdown").out
    web = world.app("web")
    world.reset_stats()
    assert world.comwit("apply", "--yes").code == 0
    assert world.stats()["mutating"] == 0
    assert world.app("web") == web


def test_ctrl_c_exits_130_with_one_line_and_no_traceback(process_world):
    world = process_world
    assert world.in_this_process().comwit("apply", "--yes").code == 0
    world.reset_stats()
    # Apps are listed (counted when answered), then the builds' answers are held (released
    # at the end, so the emulator's shutdown has no call left to wait for).
    world.admin("POST", "faults/latency", {"route": "list_builds", "ms": 20000, "hold": True})
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "plan"],
        cwd=world.root,
        env=world.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while world.stats()["total"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    world.admin("DELETE", "faults")
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in err


def test_app_selection_says_how_many_of_the_manifest_apps_and_takes_a_comma_list(world):
    world.comwit("apply", "--yes")
    one = world.comwit("plan", "--app", "web")
    assert one.code == 0, one.err
    assert one.out.startswith("comwit plan for project proj: 1 of 2 apps selected\n")
    assert "Not in the manifest" not in one.out
    status = world.comwit("status", "--app", "web")
    assert status.out.startswith("comwit status for project proj: 1 of 2 apps selected\n")
    both = world.comwit("plan", "--app", "web,api")
    assert both.out.startswith("comwit plan for project proj: 2 apps in the manifest\n")
    excluded = world.plan_json("--exclude-app", "web, nope")
    assert [app["app"] for app in excluded["apps"]] == ["api"]


def test_plan_v_markdown_and_json_name_the_changed_paths(world):
    world.comwit("apply", "--yes")
    world.write("web/index.html", "<h1>v2</h1>")
    world.write("web/assets/new.js", "new()")
    (world.root / "web/assets/app.js").unlink()
    text = world.comwit("plan", "-v")
    assert "        1 file added, 1 changed, 1 removed\n" in text.out
    assert (
        "            + assets/new.js\n            ~ index.html\n            - assets/app.js\n"
        in (text.out)
    )
    assert "assets/new.js" not in world.comwit("plan").out
    markdown = world.comwit("plan", "--format", "markdown").out
    assert "#       + assets/new.js\n#       ~ index.html\n#       - assets/app.js\n" in markdown
    deploy = world.plan_json()["apps"][1]["actions"][0]
    assert deploy["tree_changes"]["changed_paths"] == ["index.html"]


def test_a_new_apps_upload_is_a_create_in_text_and_markdown_under_one_legend(world):
    text = world.comwit("plan").out
    assert "Symbols: + create, ~ change, - remove, ! held back." in text
    assert "    + upload build: new app\n" in text
    markdown = world.comwit("plan", "--format", "markdown").out
    assert "Symbols: `+` create, `~` change, `-` remove, `!` held back." in markdown
    assert "\n+ upload build: new app\n" in markdown


def test_validate_and_plan_report_an_empty_build_dir_at_its_manifest_line(world):
    (world.root / "api/server.js").unlink()
    line = "comwit.toml:9:1: apps.api.build_dir: build dir "
    validated = world.comwit("validate")
    assert validated.code == 1
    assert f"error: {line}" in validated.err
    assert "has no files to pack" in validated.err
    planned = world.comwit("plan")
    assert planned.code == 1
    assert f"error: {line}" in planned.err


def test_validate_allow_missing_vars_reports_unset_variables_as_warnings(world):
    world.manifest(MANIFEST.replace('LEVEL = "info"', 'LEVEL = "info"\nDB = "${DB_URL_UNSET}"'))
    problem = "comwit.toml:8:1: apps.web.env.DB: environment variable is not set: DB_URL_UNSET"
    refused = world.comwit("validate")
    assert (refused.code, refused.err.strip()) == (
        1,
        f"error: {problem}; export it before running comwit (write $$ for a literal $)",
    )
    allowed = world.comwit("validate", "--allow-missing-vars")
    assert allowed.code == 0, allowed.err
    assert allowed.err.startswith(f"warning: {problem}")
    assert allowed.out.startswith("comwit.toml is valid")


def test_an_overlay_of_another_project_inheriting_hostnames_warns_and_its_409_names_the_holder(
    world,
):
    world.manifest(MANIFEST + '[environments.staging]\nproject = "proj-staging"\n')
    validated = world.comwit("validate")
    assert validated.code == 0, validated.err
    assert validated.err.startswith(
        "warning: comwit.toml:5:1: apps.web.hosts: environment 'staging' (project proj-staging) "
        "inherits these hostnames (www.example.com)"
    )
    in_actions = world.comwit("validate", env={"GITHUB_ACTIONS": "true"})
    assert "::warning file=comwit.toml,line=5,col=1::apps.web.hosts: environment 'staging'" in (
        in_actions.err
    )
    assert world.comwit("apply", "--yes").code == 0
    scopes = ["project:read", "app:read", "app:deploy", "app:write"]
    world.token = world.admin(
        "POST", "tokens", {"scopes": scopes, "projects": [PROJECT, "proj-staging"]}
    )["token"]
    staging = world.comwit("apply", "--yes", "--env", "staging")
    assert staging.code == 1
    assert "warning: comwit.toml:5:1: apps.web.hosts: environment 'staging'" in staging.err
    assert (
        "hostname www.example.com is attached to app 'web' of project proj (409); a hostname "
        "belongs to one app at a time: remove it from apps.web.hosts"
    ) in staging.out
    world.token = world.admin("POST", "tokens", {"scopes": scopes, "projects": ["proj-staging"]})[
        "token"
    ]
    unseen = world.comwit("apply", "--yes", "--env", "staging")
    assert unseen.code == 1
    assert (
        "attaching hostname www.example.com conflicts with existing state (409: Hostname "
        "www.example.com is already attached to another app.); no app this token can see holds it"
    ) in unseen.out


def test_a_damaged_stat_cache_costs_a_rehash_and_says_nothing(world):
    assert world.comwit("apply", "--yes").code == 0
    caches = {path: path.read_bytes() for path in (world.root / ".comwit" / "stat").iterdir()}
    assert len(caches) == 2  # one per build dir
    for path, data in caches.items():
        path.write_bytes(data[: len(data) // 2])
    result = world.comwit("plan", "--detailed-exitcode")
    assert result.code == 0, result.out + result.err
    assert "No changes: 2 apps unchanged." in result.out
    assert result.err == ""
    assert {path: len(path.read_bytes()) for path in caches} == {
        path: len(data) for path, data in caches.items()
    }  # rewritten whole
