"""End to end: `comwit preview up | down | prune` against the emulator, in-process."""

from __future__ import annotations

import json
import time

from comwit.plan.ledger import AppLedger, Lease

from tests.e2e_support import FakeTime

PREVIEW = """\
[preview]
env = { API_URL = "https://api-pr-{pr}.preview.test", LEVEL = "debug" }
max_concurrent_requests = 2
"""


def _with_preview(world, extra: str = PREVIEW) -> None:
    world.manifest((world.root / "comwit.toml").read_text() + extra)


def _env(world, app: str) -> dict[str, str]:
    app_id = world.app(app)["app_id"]
    return {v["key"]: v["value"] for v in world.api(f"apps/{app_id}/environment")["variables"]}


def _hosts(world, app: str) -> list[str]:
    app_id = world.app(app)["app_id"]
    return [d["domain"] for d in world.api(f"apps/{app_id}/domains")["domains"]]


def _ledger(world, app: str) -> dict:
    return json.loads(_env(world, app)["COMWIT_LEDGER"])


def test_up_creates_the_preview_apps_with_the_preview_env_and_no_production_hostnames(world):
    _with_preview(world)
    result = world.comwit("preview", "up", "--pr", "7")
    assert result.code == 0, result.err
    assert result.out.index("create app") < result.out.index("Apply complete")
    assert "web-pr-7" in result.out and "https://" in result.out
    assert _env(world, "web-pr-7")["API_URL"] == "https://api-pr-7.preview.test"
    assert _env(world, "web-pr-7")["LEVEL"] == "debug"
    assert _hosts(world, "web-pr-7") == [] and _hosts(world, "api-pr-7") == []
    base, pr, _commit, created, deployed = _ledger(world, "api-pr-7")["p"]
    assert (base, pr) == ("api", 7) and 0 < created <= deployed  # marked with its lease
    names = {app["name"] for app in world.api("apps")["apps"]}
    assert names == {"web-pr-7", "api-pr-7"}  # production apps untouched (none created)


def test_a_second_up_makes_no_mutating_request_and_a_changed_file_one_upload(world):
    _with_preview(world)
    assert world.comwit("preview", "up", "--pr", "7").code == 0
    world.reset_stats()
    again = world.comwit("preview", "up", "--pr", "7")
    assert again.code == 0, again.err
    assert world.stats()["mutating"] == 0
    world.write("api/server.js", "serve(2)")
    world.reset_stats()
    assert world.comwit("preview", "up", "--pr", "7").code == 0
    assert world.stats()["deploys"] == 1
    assert len(world.builds("api-pr-7")) == 2 and len(world.builds("web-pr-7")) == 1


def test_up_refuses_an_existing_app_of_that_name_without_the_mark(world):
    world.request("POST", "/v1/projects/proj/apps", json={"name": "web-pr-8"}, token=world.token)
    result = world.comwit("preview", "up", "--pr", "8")
    assert result.code == 1
    assert "web-pr-8 exists and is not comwit's preview" in result.out + result.err
    assert world.builds("web-pr-8") == []


def test_up_racing_an_earlier_push_that_is_creating_the_preview_says_so(world):
    # What an earlier push's run left while it created the preview, before the mark came
    # with the lease (older comwit versions wrote it with the deploy's record): the app, and
    # in its ledger that run's lease but no mark.
    world.request("POST", "/v1/projects/proj/apps", json={"name": "web-pr-8"}, token=world.token)
    lease = Lease(
        "ci@elsewhere", "https://ci.example/runs/7", int(time.time() * 1000) + 60_000, "x"
    )
    world.put_ledger("web-pr-8", AppLedger().with_lease(lease))
    result = world.comwit("preview", "up", "--pr", "8", "--app", "web")
    assert result.code == 1
    assert (
        "app web-pr-8 has no preview mark yet and another run is applying it: ci@elsewhere "
        "(https://ci.example/runs/7)" in result.out
    )
    assert "run again once it is done" in result.out
    assert world.builds("web-pr-8") == []


def test_a_preview_whose_first_deploy_failed_is_still_comwits_to_retry_or_delete(world):
    """The mark came only with the deploy's record: one failed deploy left an app that every
    later `up` refused and `down` never deleted."""
    world.admin("POST", "faults/fail", {"route": "deploy", "count": 1, "status": 503})
    failed = world.comwit("preview", "up", "--pr", "9", "--app", "web")
    assert failed.code == 1
    assert _ledger(world, "web-pr-9")["p"][:2] == ["web", 9]  # marked with the lease
    assert world.builds("web-pr-9") == []
    retried = world.comwit("preview", "up", "--pr", "9", "--app", "web")
    assert retried.code == 0, retried.out + retried.err
    assert len(world.builds("web-pr-9")) == 1
    world.admin("POST", "faults/fail", {"route": "deploy", "count": 1, "status": 503})
    assert world.comwit("preview", "up", "--pr", "10", "--app", "web").code == 1
    down = world.comwit("preview", "down", "--pr", "10", "--yes")
    assert down.code == 0, down.err
    assert "web-pr-10" not in _names(world)


def test_the_preview_domain_gives_each_preview_its_hostname(world):
    _with_preview(world, '[preview]\ndomain = "preview.example.com"\n')
    assert world.comwit("preview", "up", "--pr", "3", "--app", "web").code == 0
    assert _hosts(world, "web-pr-3") == ["web-pr-3.preview.example.com"]
    assert "www.example.com" not in json.dumps(world.api("apps"))


def test_only_apps_with_preview_true_get_previews(world):
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text.replace('build_dir = "api"', 'build_dir = "api"\npreview = true'))
    assert world.comwit("preview", "up", "--pr", "5").code == 0
    assert {app["name"] for app in world.api("apps")["apps"]} == {"api-pr-5"}


def test_max_apps_stops_a_preview_that_would_pass_the_cap(world):
    _with_preview(world, "[preview]\nmax_apps = 3\n")
    assert world.comwit("preview", "up", "--pr", "1").code == 0
    result = world.comwit("preview", "up", "--pr", "2")
    assert result.code == 1
    assert "over [preview] max_apps = 3" in result.err
    assert len(world.api("apps")["apps"]) == 2


def _names(world) -> set[str]:
    return {app["name"] for app in world.api("apps")["apps"]}


def test_down_deletes_exactly_the_marked_previews_of_that_pull_request(world):
    _with_preview(world)
    assert world.comwit("preview", "up", "--pr", "7").code == 0
    assert world.comwit("preview", "up", "--pr", "9", "--app", "web").code == 0
    for name in ("web-pr-8", "web-pr-7x"):  # made by hand: no mark
        world.request("POST", "/v1/projects/proj/apps", json={"name": name}, token=world.token)
    plan = world.comwit("preview", "down", "--pr", "7", "--format", "json", "--yes")
    assert plan.code == 0, plan.err
    assert "delete app" in plan.err and "preview of web for pull request #7" in plan.err
    assert _names(world) == {"web-pr-9", "web-pr-8", "web-pr-7x"}
    again = world.comwit("preview", "down", "--pr", "7", "--yes")
    assert again.code == 0 and "No changes" in again.out


def test_down_and_prune_never_delete_an_app_of_the_manifest_whatever_its_ledger_says(world):
    """apply took over the preview web-pr-7 as an app of the manifest, mark and all; down
    deleted it with its builds."""
    now = 1_900_000_000.0
    _with_preview(world)
    assert world.comwit("preview", "up", "--pr", "7", clock=lambda: now - 30 * 86400).code == 0
    world.write("prod/index.html", "<h1>production</h1>")
    world.manifest(
        (world.root / "comwit.toml").read_text()
        + '\n[apps.web-pr-7]\nbuild_dir = "prod"\npreview = false\n'
    )
    assert world.comwit("apply", "--yes", "--app", "web-pr-7").code == 0
    kept = (
        "warning: left web-pr-7 alone: the manifest names it as an app of its own, though its "
        "ledger still marks it as the preview of web for pull request #7"
    )
    other = world.comwit("preview", "down", "--pr", "99", "--yes")
    assert other.code == 0 and "left web-pr-7 alone" not in other.err  # not one it would delete
    pruned = world.comwit("preview", "prune", "--older-than", "7d", "--yes", clock=lambda: now)
    assert pruned.code == 0, pruned.err
    assert kept in pruned.err
    assert "web-pr-7" in _names(world) and "api-pr-7" not in _names(world)
    down = world.comwit("preview", "down", "--pr", "7", "--yes")
    assert down.code == 0, down.err
    assert kept in down.err
    assert "web-pr-7" in _names(world)


def test_down_and_prune_speak_of_previews_not_of_the_manifest(world):
    assert world.comwit("apply", "--yes").code == 0
    assert world.comwit("preview", "up", "--pr", "7").code == 0
    down = world.comwit("preview", "down", "--pr", "7", "--yes")
    assert down.code == 0, down.err
    lines = down.out.splitlines()
    assert lines[0] == "comwit plan for project proj: 2 previews to delete"
    assert "Left alone: 2 other live apps (api, web)." in lines
    prune = world.comwit("preview", "prune", "--older-than", "1d", "--yes")
    assert prune.code == 0, prune.err
    assert prune.out.splitlines()[0] == "comwit plan for project proj: no previews to delete"
    assert "in the manifest" not in down.out + prune.out


def test_down_asks_before_deleting_without_a_terminal_or_yes(world):
    assert world.comwit("preview", "up", "--pr", "7").code == 0
    result = world.comwit("preview", "down", "--pr", "7")
    assert result.code == 1 and "pass --yes" in result.err
    assert _names(world) == {"web-pr-7", "api-pr-7"}


def test_prune_with_an_injected_clock_deletes_only_stale_previews(world):
    now = 1_900_000_000.0
    days = 86400
    assert world.comwit("preview", "up", "--pr", "1", clock=lambda: now - 10 * days).code == 0
    assert world.comwit("preview", "up", "--pr", "2", clock=lambda: now - 9 * days).code == 0
    assert world.comwit("preview", "up", "--pr", "3", clock=lambda: now - 1 * days).code == 0
    dry = world.comwit("preview", "prune", "--older-than", "7d", "--dry-run", clock=lambda: now)
    assert dry.code == 0, dry.err
    assert "Plan: 4 apps to delete." in dry.out
    assert "Left alone: 2 other live apps (api-pr-3, web-pr-3)." in dry.out
    assert len(_names(world)) == 6
    pruned = world.comwit(
        "preview", "prune", "--older-than", "7d", "--keep", "2", "--yes", clock=lambda: now
    )
    assert pruned.code == 0, pruned.err
    assert _names(world) == {"web-pr-2", "api-pr-2", "web-pr-3", "api-pr-3"}


def test_prune_takes_its_default_age_from_the_manifest(world):
    _with_preview(world, '[preview]\nolder_than = "2d"\n')
    now = 1_900_000_000.0
    assert world.comwit("preview", "up", "--pr", "4", clock=lambda: now - 3 * 86400).code == 0
    assert world.comwit("preview", "prune", "--yes", clock=lambda: now).code == 0
    assert _names(world) == set()


def test_prune_refuses_a_malformed_age(world):
    result = world.comwit("preview", "prune", "--older-than", "week")
    assert result.code == 1
    assert "--older-than: duration 'week' is invalid" in result.err


def _hold(world, app: str, seconds: float, now: float | None = None) -> None:
    """Another run's lease on the preview app `app`, expiring `seconds` after `now`."""
    expires = int(((time.time() if now is None else now) + seconds) * 1000)
    lease = Lease("ci@elsewhere", "https://ci.example/runs/9", expires, "theirs")
    world.put_ledger(app, world.ledger(app).with_lease(lease))


def test_prune_refuses_a_kept_pull_request_that_cannot_be_one(world):
    for value in ("0", "-1"):
        refused = world.comwit("preview", "prune", "--keep", value, "--dry-run")
        assert refused.code == 1
        assert refused.err == (
            "error: --keep: must be at least 1 (see `comwit preview prune --help`)\n"
        )


def test_up_waits_for_a_preview_lease_with_lock_timeout(world):
    assert world.comwit("preview", "up", "--pr", "7", "--app", "web").code == 0
    _hold(world, "web-pr-7", seconds=600)
    world.write("web/index.html", "<h1>v2</h1>")
    refused = world.comwit("preview", "up", "--pr", "7", "--app", "web")
    assert refused.code == 1
    assert "app 'web-pr-7' is being applied by ci@elsewhere" in refused.out
    now = FakeTime()
    _hold(world, "web-pr-7", seconds=5, now=now.now)
    up = ("preview", "up", "--pr", "7", "--app", "web", "--lock-timeout", "20")
    waited = world.comwit(*up, clock=now, sleep=now.sleep)
    assert waited.code == 0, waited.out + waited.err
    assert now.slept == [2.0, 2.0, 2.0]  # by its own clock, until the lease ran out
    assert "web-pr-7: waiting up to 20 s for its apply lease, held by ci@elsewhere" in waited.err
    assert len(world.builds("web-pr-7")) == 2


def test_down_leaves_a_preview_alone_while_another_run_holds_its_lease(world):
    """It deleted the app under a push's run that was uploading to it."""
    assert world.comwit("preview", "up", "--pr", "7", "--app", "web").code == 0
    _hold(world, "web-pr-7", seconds=600)
    refused = world.comwit("preview", "down", "--pr", "7", "--yes")
    assert refused.code == 1
    assert "app 'web-pr-7' is being applied by ci@elsewhere" in refused.out
    assert "web-pr-7" in _names(world)
    assert world.comwit("unlock", "web-pr-7").code == 0
    down = world.comwit("preview", "down", "--pr", "7", "--yes")
    assert down.code == 0, down.err
    assert "web-pr-7" not in _names(world)
    assert "release" not in down.out + down.err  # its lease went with it


def test_a_preview_deleted_with_a_local_ledger_leaves_no_lease_in_the_file(world):
    """Its env var goes with the app, but a ledger file keeps the entry: a lease skipped as
    gone stayed there, live."""
    text = (world.root / "comwit.toml").read_text()
    world.manifest(text + '\n[state]\nbackend = "local"\npath = "state/ledger.json"\n')
    assert world.comwit("preview", "up", "--pr", "3", "--app", "web").code == 0
    app_id = world.app("web-pr-3")["app_id"]
    down = world.comwit("preview", "down", "--pr", "3", "--yes")
    assert down.code == 0, down.err
    assert "release" not in down.out + down.err
    entry = json.loads((world.root / "state/ledger.json").read_text())["projects"]["proj"]
    assert "l" not in entry.get(app_id, {})


def test_unlock_removes_the_lease_of_a_preview_app(world):
    assert world.comwit("preview", "up", "--pr", "7", "--app", "web").code == 0
    _hold(world, "web-pr-7", seconds=600)
    unlocked = world.comwit("unlock", "web-pr-7")
    assert unlocked.code == 0, unlocked.err
    assert "Removed the apply lease of app 'web-pr-7' held by ci@elsewhere" in unlocked.err
    world.write("web/index.html", "<h1>v2</h1>")
    assert world.comwit("preview", "up", "--pr", "7", "--app", "web").code == 0
    stranger = world.comwit("unlock", "web-pr-x7")
    assert stranger.code == 1
    assert "app 'web-pr-x7' is not in comwit.toml" in stranger.err


def test_unlock_of_a_preview_already_torn_down_says_it_has_no_lease_to_remove(world):
    assert world.comwit("preview", "up", "--pr", "7", "--app", "web").code == 0
    assert world.comwit("preview", "down", "--pr", "7", "--yes").code == 0
    unlocked = world.comwit("unlock", "web-pr-7")
    assert unlocked.code == 0, unlocked.err
    assert "App 'web-pr-7' does not exist in project" in unlocked.err
    assert "it has no apply lease to remove." in unlocked.err
    assert "comwit apply" not in unlocked.err  # apply never creates a preview app


def test_down_and_prune_with_nothing_to_delete_print_one_json_document(world):
    for args in (["down", "--pr", "7", "--yes"], ["prune", "--yes"], ["prune", "--dry-run"]):
        result = world.comwit("preview", *args, "--format", "json")
        assert result.code == 0, result.err
        assert result.json() == {
            "apps": [],
            "hints": [],
            "ok": True,
            "uploaded_bytes": 0,
            "urls": {},
        }
        assert "No changes: nothing to manage." in result.err


def test_a_dry_run_of_prune_in_json_lists_what_it_would_delete_as_not_done(world):
    now = 1_900_000_000.0
    assert world.comwit("preview", "up", "--pr", "1", clock=lambda: now - 10 * 86400).code == 0
    assert world.comwit("preview", "up", "--pr", "3", clock=lambda: now - 86400).code == 0
    dry = world.comwit(
        "preview", "prune", "--older-than", "7d", "--dry-run", "--format", "json", clock=lambda: now
    )
    assert dry.code == 0, dry.err
    document = dry.json()
    assert [(a["app"], a["status"]) for a in document["apps"]] == [
        ("api-pr-1", "not_started"),
        ("web-pr-1", "not_started"),
    ]
    assert all(a["steps"] == [] for a in document["apps"])
    assert document["apps"][0]["detail"].startswith("dry run: would delete app app-")
    assert document["ok"] is False  # nothing was done
    assert "Plan: 2 apps to delete." in dry.err
    assert len(_names(world)) == 4
