"""The executor and each action handler, against the real emulator app in this process: plans
come from the real planner; the emulator's state says what was done."""

from __future__ import annotations

import httpx
import pytest

from comwit.apply.stop import Stop
from comwit.emulator.inprocess import InProcessEmulator
from comwit.render.summary import render_summary, render_summary_json

from tests.apply_support import PROJECT, Site, make_site
from tests.e2e_support import MANIFEST as _TWO_APPS


@pytest.fixture
def site(tmp_path) -> Site:
    with InProcessEmulator(tmp_path / "emulator", auto_dns=True) as emulator:
        made = make_site(tmp_path, emulator)
        made.manifest(_TWO_APPS)
        made.write("web/index.html", "<h1>v1</h1>")
        made.write("api/server.js", "serve()")
        yield made


def _types(plan, app: str) -> list[str]:
    return [a.type for each in plan.apps if each.app == app for a in each.actions]


def _calls(site: Site, app_id: str) -> list[str]:
    """The mutating calls made to one app, in order, as `METHOD path-below-the-app`."""
    marker = f"/apps/{app_id}/"
    return [
        f"{call.split()[0]} {call.split(marker, 1)[1]}"
        for call in site.transport.sent
        if marker in call and call.startswith(("POST", "PUT", "DELETE"))
    ]


def _outcome(result, app: str):
    return next(o for o in result.outcomes if o.app == app)


# -- each handler ----------------------------------------------------------------------


def test_a_new_app_is_created_given_its_env_deployed_attached_and_recorded_in_that_order(site):
    plan, result = site.apply()
    assert _types(plan, "web") == [
        "create_app",
        "set_env",
        "deploy",
        "record_ledger",
        "attach_host",
    ]
    assert result.ok
    web_id = site.app("web")["app_id"]
    assert _calls(site, web_id) == [
        "PUT environment/LEVEL",
        "POST deployments",
        "PUT environment/COMWIT_LEDGER",
        "POST domains",
        "POST domains/www.example.com/finalize",
    ]
    assert site.transport.mutations().index("POST /v1/projects/proj/apps") == 0
    assert site.app("web")["active_build_id"] == _outcome(result, "web").build_id
    assert site.env("web")["LEVEL"] == "info"
    assert site.hosts("web") == {"www.example.com": "active"}
    assert "COMWIT_LEDGER" in site.env("web")


def test_each_app_runs_env_then_deploy_then_attach_then_the_ledger(site):
    site.apply()
    site.manifest(
        _TWO_APPS.replace('LEVEL = "info"', 'LEVEL = "debug"').replace(
            'hosts = ["www.example.com"]', 'hosts = ["shop.example.com"]'
        )
    )
    site.write("web/index.html", "<h1>v2</h1>")
    site.transport.sent.clear()
    plan, result = site.apply(allow_detach=("www.example.com",))
    assert _types(plan, "web") == [
        "set_env",
        "deploy",
        "record_ledger",
        "attach_host",
        "detach_host",
    ]
    assert result.ok, result
    assert _calls(site, site.app("web")["app_id"]) == [
        "PUT environment/LEVEL",
        "POST deployments",
        "PUT environment/COMWIT_LEDGER",
        "POST domains",
        "POST domains/shop.example.com/finalize",
        "DELETE domains/www.example.com",
    ]
    assert site.hosts("web") == {"shop.example.com": "active"}
    assert site.env("web")["LEVEL"] == "debug"


def test_set_env_updates_and_delete_env_removes_a_key(site):
    site.manifest(_TWO_APPS.replace('LEVEL = "info"', 'LEVEL = "info"\nOTHER = "x"'))
    site.apply()
    assert site.env("web")["OTHER"] == "x"
    site.manifest(_TWO_APPS.replace('LEVEL = "info"', 'LEVEL = "warn"'))
    plan, result = site.apply(allow_delete_env=("OTHER",))
    assert _types(plan, "web") == ["set_env", "delete_env", "record_ledger"]
    assert result.ok
    env = site.env("web")
    assert env["LEVEL"] == "warn"
    assert "OTHER" not in env


def test_deleting_an_env_key_someone_else_deleted_first_is_done(site):
    site.manifest(_TWO_APPS.replace('LEVEL = "info"', 'LEVEL = "info"\nOTHER = "x"'))
    site.apply()
    site.manifest(_TWO_APPS)
    web_id = site.app("web")["app_id"]

    def delete_it(planned) -> None:
        site.api("DELETE", f"apps/{web_id}/environment/OTHER")

    plan, result = site.apply(between=delete_it, allow_delete_env=("OTHER",))
    assert "delete_env" in _types(plan, "web")
    assert _outcome(result, "web").status == "done"


def test_a_deploy_uploads_once_and_the_next_plan_is_empty(site):
    _, first = site.apply()
    assert first.uploaded > 0
    assert site.emulator.faults.stats()["deploys"] == 2
    planned = site.plan()
    assert not planned.plan.has_changes
    _, again = site.apply()
    assert again.uploaded == 0
    assert {o.status for o in again.outcomes} == {"unchanged"}


def test_a_revert_activates_the_earlier_build_without_an_upload(site):
    site.apply()
    first = site.app("api")["active_build_id"]
    site.write("api/server.js", "serve(2)")
    site.apply()
    site.write("api/server.js", "serve()")
    site.emulator.faults.reset_stats()
    plan, result = site.apply()
    assert _types(plan, "api") == ["activate", "record_ledger"]
    assert result.ok
    assert site.app("api")["active_build_id"] == first
    assert site.emulator.faults.stats()["deploys"] == 0
    assert _outcome(result, "api").build_id == first


def test_an_attach_whose_records_are_not_published_is_pending_then_finalized(site):
    site.apply()
    site.admin("POST", "faults/fail", {"route": "finalize_domain", "count": 1, "status": 409})
    site.manifest(
        _TWO_APPS.replace(
            'hosts = ["www.example.com"]', 'hosts = ["www.example.com", "shop.example.com"]'
        )
    )
    _, result = site.apply()
    web = _outcome(result, "web")
    assert (web.status, web.pending) == ("done", ("shop.example.com",))
    assert site.hosts("web")["shop.example.com"] != "active"
    plan, result = site.apply()
    assert _types(plan, "web") == ["finalize_host"]
    assert result.ok
    assert site.hosts("web")["shop.example.com"] == "active"


def test_a_build_dir_changed_after_the_plan_skips_that_app_as_stale(site):
    def edit(planned) -> None:
        site.write("api/server.js", "serve('edited')")

    _, result = site.apply(between=edit)
    api = _outcome(result, "api")
    assert api.status == "skipped"
    assert "build dir api changed since the plan" in api.detail
    assert _outcome(result, "web").status == "done"
    assert [a["name"] for a in site.api("GET", "apps")["apps"]] == ["web"]


def test_a_saved_plan_skips_an_app_changed_at_the_api_since_and_applies_the_others(site):
    site.apply()
    site.write("web/index.html", "<h1>v2</h1>")
    site.write("api/server.js", "serve(2)")
    api_id = site.app("api")["app_id"]

    def change_api(planned) -> None:
        site.api("PUT", f"apps/{api_id}/environment/NEW", {"value": "1", "secret": False})

    _, result = site.apply(between=change_api, saved=True)
    assert _outcome(result, "api").status == "skipped"
    assert "stale plan" in _outcome(result, "api").detail
    assert _outcome(result, "web").status == "done", _outcome(result, "web").detail


def test_an_app_another_run_made_live_as_planned_is_read_again_with_its_own_three_reads(site):
    site.apply()
    site.write("web/index.html", "<h1>v2</h1>")
    sent_before: list[int] = []

    def another_run_applies_it(planned) -> None:
        site.apply()
        sent_before.append(len(site.transport.sent))

    _, result = site.apply(between=another_run_applies_it, replan=True)
    web = _outcome(result, "web")
    assert web.status == "unchanged"
    assert web.detail.startswith("already applied by another run")
    app_id = site.app("web")["app_id"]
    # The live build looked up once in the app list; then only web's builds, hostnames and
    # env vars, not the list of every app of the project again.
    assert sorted(site.transport.sent[sent_before[0] :]) == [
        f"GET /v1/projects/{PROJECT}/apps",
        f"GET /v1/projects/{PROJECT}/apps/{app_id}/builds",
        f"GET /v1/projects/{PROJECT}/apps/{app_id}/domains",
        f"GET /v1/projects/{PROJECT}/apps/{app_id}/environment",
    ]
    assert len(site.builds("web")) == 2


def _another_run_deploys(site: Site, content: str, mine: str):
    """`between`: another run makes `content` web's live build; this run's build dir is
    `mine` again afterwards (what this run planned)."""

    def deploy(planned) -> None:
        site.write("web/index.html", content)
        site.apply()
        site.write("web/index.html", mine)

    return deploy


def test_an_app_another_run_changed_is_planned_again_and_the_same_changes_go_on(site):
    site.apply()
    site.write("web/index.html", "<h1>v3</h1>")
    between = _another_run_deploys(site, "<h1>v2</h1>", mine="<h1>v3</h1>")
    _, result = site.apply(between=between, replan=True)
    web = _outcome(result, "web")
    assert web.status == "done", web.detail
    (first, theirs, mine) = [b["build_id"] for b in site.builds("web")[::-1]]
    assert web.steps[0] == (
        f"planned again under its lease from build {theirs}, which another run made live "
        "since the plan: the same changes"
    )
    assert site.app("web")["active_build_id"] == web.build_id == mine
    assert not site.plan().plan.has_changes  # the ledger holds what this run made live
    assert first not in (theirs, mine)


def test_a_lost_deploy_after_planning_again_does_not_adopt_the_other_runs_build(site):
    site.apply()
    site.write("web/index.html", "<h1>v3</h1>")  # as long as v2: its archive is as large
    another = _another_run_deploys(site, "<h1>v2</h1>", mine="<h1>v3</h1>")

    def then_drop_the_upload(planned) -> None:
        another(planned)
        site.admin("POST", "faults/drop", {"route": "deploy", "count": 1, "when": "before"})

    _, result = site.apply(between=then_drop_the_upload, replan=True)
    web = _outcome(result, "web")
    assert web.status == "failed"
    assert "no new build appeared, so nothing was deployed" in web.detail
    assert len(site.builds("web")) == 2
    # v2 was not taken for this run's v3: the ledger does not say it holds v3's content.
    assert _types(site.plan().plan, "web") == ["deploy", "record_ledger"]


# -- answers lost: look before failing --------------------------------------------------


def test_a_lost_answer_to_a_deploy_adopts_the_build_it_created(site):
    site.admin("POST", "faults/drop", {"route": "deploy", "count": 1, "when": "after"})
    _, result = site.apply()
    assert result.ok, result
    dropped = [o for o in result.outcomes if any("adopted build" in s for s in o.steps)]
    assert len(dropped) == 1
    app = dropped[0].app
    assert len(site.builds(app)) == 1
    assert site.app(app)["active_build_id"] == dropped[0].build_id
    assert not site.plan().plan.has_changes


def test_a_deploy_dropped_before_it_was_processed_fails_and_deploys_nothing(site):
    site.admin("POST", "faults/drop", {"route": "deploy", "count": 2, "when": "before"})
    _, result = site.apply()
    assert {o.status for o in result.outcomes} == {"failed"}
    assert all("no new build appeared" in o.detail for o in result.outcomes)
    assert site.builds("api") == [] and site.builds("web") == []
    site.admin("DELETE", "faults")
    _, again = site.apply()
    assert again.ok
    assert len(site.builds("api")) == 1


def test_a_lost_answer_to_create_app_uses_the_app_it_created(site):
    site.admin("POST", "faults/drop", {"route": "create_app", "count": 2, "when": "after"})
    _, result = site.apply()
    assert result.ok, result
    names = [a["name"] for a in site.api("GET", "apps")["apps"]]
    assert sorted(names) == ["api", "web"]


def test_a_lost_answer_to_a_rollback_is_done_when_the_build_is_live(site):
    site.apply()
    first = site.app("api")["active_build_id"]
    site.write("api/server.js", "serve(2)")
    site.apply()
    site.write("api/server.js", "serve()")
    site.admin("POST", "faults/drop", {"route": "rollback", "count": 1, "when": "after"})
    _, result = site.apply()
    assert _outcome(result, "api").status == "done"
    assert site.app("api")["active_build_id"] == first


# -- apps: concurrent, bounded, independent ----------------------------------------------


def _many(site: Site, count: int) -> None:
    tables = [f'version = 1\nproject = "{PROJECT}"\n']
    for i in range(count):
        tables.append(f'[apps.app-{i}]\nbuild_dir = "sites/{i}"\n')
        site.write(f"sites/{i}/index.html", f"<p>{i}</p>")
    site.manifest("\n".join(tables))


@pytest.mark.parametrize("parallel", [1, 3])
def test_apps_are_applied_concurrently_up_to_parallel(site, parallel):
    _many(site, 5)
    site.admin("POST", "faults/latency", {"route": "deploy", "ms": 150})
    _, result = site.apply(parallel=parallel)
    assert result.ok
    assert len(result.outcomes) == 5
    deploys = "POST /v1/projects/proj/apps/{id}/deployments"
    assert site.transport.most_in_flight[deploys] == parallel


def test_a_failing_app_stops_only_itself_and_the_summary_says_so(site):
    site.admin("POST", "faults/fail", {"route": "attach_domain", "count": 20, "status": 502})
    _, result = site.apply()
    assert (_outcome(result, "web").status, _outcome(result, "api").status) == ("failed", "done")
    assert not result.ok and not result.bug
    text = render_summary(result)
    assert "1 done, 1 failed" in text
    assert "failed   web  POST /v1/projects/proj/apps/" in text
    assert "done     api" in text
    document = render_summary_json(result)
    assert '"ok": false' in document


def test_an_unexpected_error_in_one_app_is_a_bug_and_the_others_finish(site):
    def explode(request: httpx.Request):
        if request.method == "PUT" and request.url.path.endswith("/environment/LEVEL"):
            return RuntimeError("boom")
        return None

    site.transport.fail = explode
    _, result = site.apply()
    web = _outcome(result, "web")
    assert (web.status, web.bug) == ("failed", True)
    assert "comwit hit a bug (RuntimeError: boom)" in web.detail
    assert _outcome(result, "api").status == "done"
    assert result.bug


def test_an_app_with_a_plan_error_is_skipped_and_an_unchanged_one_is_unchanged(site):
    site.apply()
    site.manifest(_TWO_APPS.replace('build_dir = "api"', 'build = "build-nope"'))
    plan, result = site.apply()
    api = next(each for each in plan.apps if each.app == "api")
    assert api.error
    assert _outcome(result, "api").status == "skipped"
    assert _outcome(result, "web").status == "unchanged"
    assert "nothing to do" not in render_summary(result)


_WEB_ALONE = _TWO_APPS.split("[apps.api]")[0]  # web: its env var, build and hostname


def test_an_app_stopped_between_its_own_steps_is_interrupted_and_a_rerun_finishes_it(site):
    site.manifest(_WEB_ALONE)
    site.admin("POST", "faults/latency", {"route": "deploy", "ms": 200})
    stop = Stop(grace=30)

    def stop_once_the_upload_is_sent(request: httpx.Request) -> None:
        if request.url.path.endswith("/deployments"):
            stop.request()  # as Ctrl-C would; the upload in flight may finish

    site.transport.fail = stop_once_the_upload_is_sent
    _, result = site.apply(stop=stop)
    web = _outcome(result, "web")
    assert (web.status, result.exit_code) == ("interrupted", 130)
    assert web.detail == "interrupted: stopped before its next step; run apply again"
    assert web.steps == ("create app", 'env LEVEL = "info"', "upload build: new app")
    assert site.app("web")["active_build_id"] == web.build_id
    assert site.hosts("web") == {}  # its next step, the hostname, never began
    assert render_summary(result).splitlines()[1] == (
        "  interrupted  web  interrupted: stopped before its next step; run apply again; "
        'done before: create app; env LEVEL = "info"; upload build: new app'
    )
    site.transport.fail = lambda request: None
    site.admin("DELETE", "faults")
    _, rerun = site.apply()
    assert rerun.ok
    assert site.hosts("web") == {"www.example.com": "active"}
    assert len(site.builds("web")) == 1  # the upload is not made again
