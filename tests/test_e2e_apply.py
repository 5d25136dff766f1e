"""End to end: the real CLI applies against the emulator; the emulator counts what it did."""

from __future__ import annotations

import json

import pytest

from tests.e2e_support import Terminal, actions


def test_apply_then_plan_is_empty_and_a_second_apply_changes_nothing(world):
    first = world.comwit("apply", "--yes")
    assert first.code == 0, first.err
    assert "Apply complete: 2 done" in first.out
    world.reset_stats()
    second = world.comwit("apply", "--yes")
    assert second.code == 0
    stats = world.stats()
    assert (stats["mutating"], stats["bytes_uploaded"], stats["deploys"]) == (0, 0, 0)
    assert "No changes: 2 apps unchanged." in second.out


def test_one_changed_app_makes_exactly_one_upload(world):
    world.comwit("apply", "--yes")
    world.write("api/server.js", "serve(2)")
    world.reset_stats()
    assert world.comwit("apply", "--yes").code == 0
    stats = world.stats()
    assert stats["deploys"] == 1
    assert len(world.builds("api")) == 2
    assert len(world.builds("web")) == 1


def test_a_revert_is_one_activation_and_no_upload(world):
    world.comwit("apply", "--yes")
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    world.write("api/server.js", "serve()")
    world.reset_stats()
    assert world.comwit("apply", "--yes").code == 0
    stats = world.stats()
    assert stats["deploys"] == 0
    assert stats["requests"].get("POST /v1/projects/{project_id}/apps/{app_id}/rollbacks") == 1
    assert world.app("api")["active_build_id"] == first


def test_an_app_whose_ledger_a_newer_comwit_wrote_is_left_as_it_is(world):
    """apply and rollback read it as empty and wrote over it: its lease and records lost."""
    assert world.comwit("apply", "--yes").code == 0
    newer = '{"v": 2, "builds": {}, "lease": "held by a newer comwit"}'
    world.put_ledger("api", newer)
    world.write("api/server.js", "serve(2)")
    world.write("web/index.html", "<h1>v2</h1>")
    world.reset_stats()
    applied = world.comwit("apply", "--yes")
    assert applied.code == 1
    assert (
        "failed   api  the ledger of app 'api' was written by a newer comwit (it has version 2; "
        "this comwit reads version 1): upgrade comwit to change this app"
    ) in applied.out
    assert world.ledger_value("api") == newer
    assert len(world.builds("api")) == 1  # nothing uploaded for it
    assert len(world.builds("web")) == 2  # the other app is deployed
    rolled = world.comwit("rollback", "api", "--yes")
    assert rolled.code == 1
    assert world.ledger_value("api") == newer
    unlocked = world.comwit("unlock", "api")  # its runs' lease cannot be seen: not "none"
    assert unlocked.code == 1
    assert unlocked.err.strip().splitlines()[-1] == (
        "error: the ledger of app 'api' was written by a newer comwit (it has version 2; "
        "this comwit reads version 1): upgrade comwit to change this app"
    )


def test_an_option_change_is_one_redeploy(world):
    world.comwit("apply", "--yes")
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text.replace("max_concurrent_requests = 10", "max_concurrent_requests = 20"))
    plan = world.comwit("plan")
    assert "options changed: max_concurrent_requests 10 -> 20" in plan.out
    world.reset_stats()
    assert world.comwit("apply", "--yes").code == 0
    assert world.stats()["deploys"] == 1


def test_an_added_external_hostname_is_attached_and_its_records_shown(world):
    world.comwit("apply", "--yes")
    world.admin("POST", "faults/fail", {"route": "finalize_domain", "count": 1, "status": 409})
    text = (world.root / "comwit.toml").read_text()
    world.manifest(
        text.replace(
            'hosts = ["www.example.com"]', 'hosts = ["www.example.com", "shop.example.com"]'
        )
    )
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.err
    assert "DNS records to publish (the next apply finalizes the hostnames):" in result.out
    assert "  shop.example.com: " in result.out
    assert "Waiting for DNS: shop.example.com (web)" in result.out
    assert actions(world.plan_json()) == ["web/finalize_host"]
    assert world.comwit("apply", "--yes").code == 0
    assert actions(world.plan_json()) == []


def test_a_removed_hostname_of_a_protected_app_is_detached_only_with_the_flag(world):
    text = (world.root / "comwit.toml").read_text()
    world.manifest(
        text.replace(
            'hosts = ["www.example.com"]',
            'hosts = ["www.example.com", "old.example.com"]\nprotect = true',
        )
    )
    world.comwit("apply", "--yes")
    world.manifest(
        text.replace('hosts = ["www.example.com"]', 'hosts = ["www.example.com"]\nprotect = true')
    )
    held = world.comwit("apply", "--yes")
    assert held.code == 0
    assert "! held back: detach hostname old.example.com: app 'web' is protected" in held.out
    assert {
        d["domain"] for d in world.api(f"apps/{world.app('web')['app_id']}/domains")["domains"]
    } == {
        "www.example.com",
        "old.example.com",
    }
    allowed = world.comwit("apply", "--yes", "--allow-detach", "old.example.com")
    assert allowed.code == 0
    assert {
        d["domain"] for d in world.api(f"apps/{world.app('web')['app_id']}/domains")["domains"]
    } == {"www.example.com"}


def test_a_pinned_build_is_a_rollback(world):
    world.comwit("apply", "--yes")
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text.replace('build_dir = "api"', f'build = "{first}"'))
    world.reset_stats()
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.err
    assert world.app("api")["active_build_id"] == first
    assert world.stats()["deploys"] == 0
    assert actions(world.plan_json()) == []


def test_without_a_terminal_apply_refuses_to_change_anything_unless_yes(world):
    result = world.comwit("apply")
    assert result.code == 1
    assert "not applying: there is no terminal to confirm on; pass --yes" in result.err
    assert world.stats()["mutating"] == 0


def test_a_saved_plan_is_applied_exactly(world, tmp_path):
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    world.write("web/extra.txt", "not in the plan")  # the web build dir no longer matches
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert "skipped  web  stale plan: build dir web changed since the plan" in result.out
    assert "done     api" in result.out
    assert world.app("api")["active_build_id"]
    assert "web" not in {app["name"] for app in world.api("apps")["apps"]}


def test_a_saved_plan_made_stale_at_the_api_refuses_that_app_and_applies_the_others(
    world, tmp_path
):
    world.comwit("apply", "--yes")
    world.write("web/index.html", "<h1>v2</h1>")
    world.write("api/server.js", "serve(2)")
    planfile = tmp_path / "plan.json"
    assert world.comwit("plan", "--out", str(planfile)).code == 0
    saved = json.loads(planfile.read_text())
    assert world.token not in planfile.read_text()
    # Someone rolls web's live build elsewhere between plan and apply.
    world.write("web/index.html", "<h1>v3</h1>")
    assert world.comwit("apply", "--yes", "--app", "web").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    world.reset_stats()
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert "skipped  web  stale plan: the live build changed from" in result.out
    assert "done     api" in result.out
    assert world.stats()["deploys"] == 1
    assert saved["plan"]["project"] == "proj"


def test_a_saved_plan_is_refused_whole_when_the_manifest_changed(world, tmp_path):
    planfile = tmp_path / "plan.json"
    world.comwit("plan", "--out", str(planfile))
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text + "\n# a comment\n")
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert result.err.strip().endswith(
        "error: comwit.toml changed after the plan was made; plan again"
    )
    assert world.stats()["mutating"] == 0


def test_a_broken_saved_plan_is_a_one_line_error(world, tmp_path):
    planfile = tmp_path / "plan.json"
    planfile.write_text('{"kind": "comwit-plan", "format_version": 1, "plan": 3}')
    result = world.comwit("apply", str(planfile))
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "plan.json: " in result.err
    assert "Traceback" not in result.err


def test_without_app_write_the_ledger_cannot_be_recorded_and_apply_warns(world, emulator_scopes):
    world.comwit("apply", "--yes")
    world.token = emulator_scopes("project:read", "app:read", "app:deploy")
    world.write("api/server.js", "serve(2)")
    result = world.comwit("apply", "--yes", "--app", "api")
    assert result.code == 0, result.out + result.err
    assert "changed without its apply lease: the token lacks the app:write scope" in result.out


def test_rollback_to_previous_activates_the_build_live_before_and_updates_the_ledger(world):
    world.comwit("apply", "--yes")
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    world.comwit("apply", "--yes")
    world.reset_stats()
    result = world.comwit("rollback", "api", "--yes")
    assert result.code == 0, result.err
    assert f"roll back to build {first} (no upload)" in result.out
    assert "requested rollback (" in result.out
    assert world.app("api")["active_build_id"] == first
    assert world.stats()["deploys"] == 0
    plan = world.plan_json()
    assert actions(plan, "api") == ["activate", "record_ledger"]
    assert plan["apps"][0]["notes"] == []


def test_rollback_to_an_unknown_build_names_the_known_ones(world):
    world.comwit("apply", "--yes")
    live = world.app("api")["active_build_id"]
    result = world.comwit("rollback", "api", "--to", "build-nope", "--yes")
    assert result.code == 1
    assert f"app 'api' has no build 'build-nope'; its newest builds: {live}" in result.err


def test_on_a_terminal_apply_asks_first_and_draws_progress_bars(process_world):
    world = process_world
    result = world.comwit_tty("apply", answer="yes")
    assert result.code == 0, result.out
    assert "Apply these changes to project proj? Type 'yes' to go on:" in result.out
    assert "web: uploading" in result.out
    assert "\x1b[" in result.out  # drawn with colour and cursor control
    assert world.app("web")["active_build_id"]


def test_on_a_terminal_anything_but_yes_applies_nothing(process_world):
    world = process_world
    result = world.comwit_tty("apply", answer="no")
    assert result.code == 1
    # The answer's own line break ends the prompt's line: no blank line before the error.
    assert "Type 'yes' to go on: no\nerror: not applying: the changes were not confirmed" in (
        result.out
    )
    assert world.stats()["mutating"] == 0


def test_on_a_terminal_ctrl_d_at_the_prompt_applies_nothing_said_on_a_line_of_its_own(
    process_world,
):
    terminal = Terminal(process_world, "apply")
    terminal.wait_for("Type 'yes'")
    terminal.type(b"\x04")  # the end of input: the terminal echoes no line break
    assert terminal.finish() == 1, terminal.text
    *_, prompt, last = terminal.text.strip().splitlines()
    assert prompt == "Apply these changes to project proj? Type 'yes' to go on: ", prompt
    assert last == "error: not applying: the changes were not confirmed", last
    assert process_world.stats()["mutating"] == 0


def test_without_a_terminal_logs_are_plain_lines(world):
    result = world.comwit("apply", "--yes")
    assert result.code == 0
    assert "\x1b" not in result.out + result.err
    assert "\r" not in result.out + result.err
    assert "web: uploaded " in result.err


def test_quiet_apply_prints_only_the_summary(world):
    result = world.comwit("apply", "--yes", "--quiet")
    assert result.code == 0
    assert result.err == ""
    assert result.out.startswith("comwit plan for project proj")
    assert "Apply complete: 2 done" in result.out


def test_a_saved_plan_against_the_embedded_emulator_can_be_applied(world, tmp_path):
    planfile = tmp_path / "plan.json"
    local = {"COMWIT_API_URL": "local"}
    assert world.comwit("plan", "--out", str(planfile), env=local).code == 0
    assert '"api_url": "local"' in planfile.read_text()
    result = world.comwit("apply", str(planfile), env=local)
    assert result.code == 0, result.out + result.err
    assert world.comwit("plan", "--detailed-exitcode", env=local).code == 0


def test_local_ledger_backend_keeps_state_in_a_file(world):
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text + '\n[state]\nbackend = "local"\npath = "state/ledger.json"\n')
    assert world.comwit("apply", "--yes").code == 0
    ledger = json.loads((world.root / "state" / "ledger.json").read_text())
    assert sorted(ledger["projects"]["proj"]) == sorted(
        world.app(name)["app_id"] for name in ("api", "web")
    )
    assert actions(world.plan_json()) == []
    env = world.api(f"apps/{world.app('web')['app_id']}/environment")["variables"]
    assert "COMWIT_LEDGER" not in {v["key"] for v in env}


@pytest.mark.parametrize("foreign", ['{"other tool": 1}', "[1, 2]", "not json at all"])
def test_a_local_ledger_file_that_is_not_comwits_is_never_written_over(world, foreign):
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text + '\n[state]\nbackend = "local"\npath = "state/ledger.json"\n')
    assert world.comwit("apply", "--yes").code == 0
    world.write("state/ledger.json", foreign)  # another tool's file, or a path mistyped
    world.write("web/index.html", "<h1>v2</h1>")
    planned = world.comwit("plan")
    assert planned.code == 0
    path = world.root / "state" / "ledger.json"
    assert f"warning: ledger of app 'web': {path} is not a comwit ledger file" in planned.err
    world.reset_stats()
    applied = world.comwit("apply", "--yes")
    assert applied.code == 1
    assert applied.err.strip().splitlines()[-1] == (
        f"error: {path} is not a comwit ledger file; comwit wrote nothing to it, as that "
        "would drop the records it holds: move it away (the next apply starts a new one) or "
        "point [state] path in comwit.toml at the ledger file"
    )
    assert path.read_text() == foreign
    assert world.stats()["mutating"] == 0


def test_an_unreadable_ledger_is_a_warning_and_the_content_counts_as_unknown(world):
    world.comwit("apply", "--yes")
    app_id = world.app("api")["app_id"]
    world.request(
        "PUT",
        f"/v1/projects/proj/apps/{app_id}/environment/COMWIT_LEDGER",
        json={"value": "{garbage", "secret": False},
        token=world.token,
    ).raise_for_status()
    result = world.comwit("plan")
    assert result.code == 0
    assert "warning: ledger of app 'api' in env var COMWIT_LEDGER is unreadable" in result.err
    assert "is not in the ledger (content unknown)" in result.out


def test_every_run_against_the_embedded_emulator_says_so_first_even_when_quiet(world):
    result = world.comwit("apply", "--yes", "--quiet", env={"COMWIT_API_URL": "local"})
    assert result.code == 0, result.err
    assert result.err.splitlines()[0].startswith("Using the local Comwit emulator")


def test_a_hostname_moved_between_apps_is_detached_before_it_is_attached(world):
    world.comwit("apply", "--yes")
    text = (world.root / "comwit.toml").read_text()
    moved = text.replace('hosts = ["www.example.com"]\n', "").replace(
        'build_dir = "api"', 'build_dir = "api"\nhosts = ["www.example.com"]'
    )
    world.manifest(moved)
    world.admin("POST", "faults/latency", {"route": "detach_domain", "ms": 1500})
    result = world.comwit("apply", "--yes", "--allow-detach", "www.example.com")
    assert result.code == 0, result.out + result.err
    domains = world.api(f"apps/{world.app('api')['app_id']}/domains")["domains"]
    assert [d["domain"] for d in domains] == ["www.example.com"]
