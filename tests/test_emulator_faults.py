"""Faults and statistics through the `/_emulator/` routes: latency, errors, dropped connections."""

import threading
import time
from dataclasses import asdict

import httpx
import pytest

from comwit.emulator.faults import Faults, Latency, Shot, _Call

from tests.emulator_support import PROJECT, assert_problem, create_app, deploy, gnu_tar_zst

APPS = f"/v1/projects/{PROJECT}/apps"


@pytest.fixture
def artifact(tmp_path):
    return gnu_tar_zst(tmp_path).read_bytes()


def _builds(http, app_id):
    return http.get(f"{APPS}/{app_id}/builds").json()["builds"]


def test_latency_delays_only_the_named_route(http):
    http.post("/_emulator/faults/latency", json={"ms": 300, "route": "list_apps"})
    started = time.monotonic()
    http.get(APPS)
    slow = time.monotonic() - started
    started = time.monotonic()
    http.get("/v1/projects")
    fast = time.monotonic() - started
    assert slow >= 0.3
    assert fast < slow


def test_latency_can_target_a_method_on_every_route(http):
    http.post("/_emulator/faults/latency", json={"ms": 200, "method": "get"})
    started = time.monotonic()
    http.get("/v1/projects")
    assert time.monotonic() - started >= 0.2


def test_latency_may_let_the_first_calls_pass(http):
    http.post("/_emulator/faults/latency", json={"ms": 300, "route": "list_apps", "skip": 2})
    timings = []
    for _ in range(3):
        started = time.monotonic()
        http.get(APPS)
        timings.append(time.monotonic() - started)
    assert timings[2] >= 0.3
    assert max(timings[:2]) < timings[2]
    assert http.get("/_emulator/faults").json()["latency"][0]["skip"] == 0


# The longest latency the admin route takes: far past the held calls' own 30 s timeout, so a
# held call that answers at all was let go by the release, not by the end of its hold.
LONGEST_MS = 60_000
CALL_TIMEOUT = 30


def _held_call(http, emulator, token):
    """GET the apps in a thread of its own; once the emulator holds it, the thread and a
    list its answer's status (or the name of its error) goes in are returned."""
    answers = []

    def call():
        headers = {"Authorization": f"Bearer {token}"}
        try:
            answer = httpx.get(emulator.url + APPS, headers=headers, timeout=CALL_TIMEOUT)
        except httpx.HTTPError as exc:  # a hold nothing let go ends in the call's timeout
            answers.append(type(exc).__name__)
        else:
            answers.append(answer.status_code)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while http.get("/_emulator/faults").json()["held"] != 1:
        assert time.monotonic() < deadline, "the call was never held"
        time.sleep(0.01)
    return thread, answers


def test_a_held_call_waits_until_it_is_released(http, emulator, emulator_token):
    http.post(
        "/_emulator/faults/latency", json={"ms": LONGEST_MS, "route": "list_apps", "hold": True}
    )
    thread, answers = _held_call(http, emulator, emulator_token)
    time.sleep(0.2)
    assert thread.is_alive()  # still held
    assert http.get("/_emulator/faults").json()["held"] == 1
    assert http.post("/_emulator/faults/release").json()["released"] == 1
    thread.join(CALL_TIMEOUT)
    assert answers == [200]  # answered: released, as its hold outlasts the call's timeout
    assert http.get("/_emulator/faults").json()["held"] == 0


def test_a_hold_ends_by_itself_after_its_ms_and_clearing_the_faults_releases(
    http, emulator, emulator_token
):
    http.post("/_emulator/faults/latency", json={"ms": 300, "route": "list_apps", "hold": True})
    started = time.monotonic()
    assert http.get(APPS).status_code == 200
    assert time.monotonic() - started >= 0.3
    http.post(
        "/_emulator/faults/latency", json={"ms": LONGEST_MS, "route": "list_apps", "hold": True}
    )
    thread, answers = _held_call(http, emulator, emulator_token)
    assert http.delete("/_emulator/faults").json() == {"latency": [], "shots": [], "held": 0}
    thread.join(CALL_TIMEOUT)
    assert answers == [200]  # answered: released, as its hold outlasts the call's timeout


def test_the_next_n_calls_fail_with_502_and_a_problem_body_then_recover(http):
    http.post("/_emulator/faults/fail", json={"route": "list_apps", "count": 2})
    assert_problem(http.get(APPS), 502, "injected_fault")
    assert_problem(http.get(APPS), 502, "injected_fault")
    assert http.get(APPS).status_code == 200


def test_a_failure_may_use_another_status(http):
    http.post("/_emulator/faults/fail", json={"route": "list_projects", "status": 501})
    assert_problem(http.get("/v1/projects"), 501)


def test_a_failed_deploy_stores_nothing(http, artifact):
    app_id = create_app(http)
    http.post("/_emulator/faults/fail", json={"route": "deploy"})
    assert_problem(deploy(http, app_id, artifact), 502)
    assert _builds(http, app_id) == []


def test_a_drop_before_processing_is_a_transport_error_and_stores_nothing(http, artifact):
    app_id = create_app(http)
    http.post("/_emulator/faults/drop", json={"route": "deploy", "when": "before"})
    with pytest.raises(httpx.RemoteProtocolError):
        deploy(http, app_id, artifact)
    assert _builds(http, app_id) == []


def test_a_drop_after_processing_loses_the_answer_but_keeps_the_build(http, artifact):
    app_id = create_app(http)
    http.post("/_emulator/faults/drop", json={"route": "deploy", "when": "after"})
    with pytest.raises(httpx.TransportError):
        deploy(http, app_id, artifact)
    builds = _builds(http, app_id)
    assert len(builds) == 1
    app = http.get(f"{APPS}/{app_id}").json()["app"]
    assert app["active_build_id"] == builds[0]["build_id"]


def test_a_route_wide_fault_applies_to_any_contract_route_but_not_health(http):
    http.post("/_emulator/faults/fail", json={"count": 1})
    assert http.get("/healthz").status_code == 200
    assert_problem(http.get("/v1/projects"), 502)
    assert http.get("/v1/projects").status_code == 200


def test_faults_are_listed_and_cleared(http):
    http.post("/_emulator/faults/latency", json={"ms": 5})
    http.post("/_emulator/faults/drop", json={"route": "rollback", "count": 3})
    shown = http.get("/_emulator/faults").json()
    assert shown["latency"] == [{"ms": 5, "route": None, "method": None, "skip": 0, "hold": False}]
    assert shown["shots"][0]["remaining"] == 3
    assert http.delete("/_emulator/faults").json() == {"latency": [], "shots": [], "held": 0}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_emulator/faults/fail", {"route": "no_such_route"}),
        ("/_emulator/faults/fail", {"route": "deploy", "times": 2}),
        ("/_emulator/faults/fail", {"status": 200}),
        ("/_emulator/faults/drop", {"when": "during"}),
        ("/_emulator/faults/latency", {"ms": -1}),
    ],
)
def test_bad_fault_requests_answer_400(http, path, body):
    assert_problem(http.post(path, json=body), 400)


def test_routes_are_listed_by_the_names_faults_use(http):
    routes = {r["name"]: r for r in http.get("/_emulator/routes").json()["routes"]}
    assert routes["deploy"]["methods"] == ["POST"]
    assert len(routes) == 20  # 18 contract routes, /healthz and /readyz


def test_a_fault_can_target_readiness_by_name(http):
    http.post("/_emulator/faults/fail", json={"route": "readyz", "status": 503})
    assert_problem(http.get("/readyz"), 503)
    assert http.get("/readyz").status_code == 200


def test_stats_count_requests_by_route_mutations_bytes_and_deploys(http, artifact):
    app_id = create_app(http)
    http.delete("/_emulator/stats")
    deploy(http, app_id, artifact)
    http.get(f"{APPS}/{app_id}/builds")
    http.get(f"{APPS}/{app_id}/builds")
    http.post("/_emulator/faults/drop", json={"route": "list_apps", "when": "before"})
    with pytest.raises(httpx.TransportError):
        http.get(APPS)
    stats = http.get("/_emulator/stats").json()
    assert stats == {
        "requests": {
            "GET /v1/projects/{project_id}/apps": 1,
            "GET /v1/projects/{project_id}/apps/{app_id}/builds": 2,
            "POST /v1/projects/{project_id}/apps/{app_id}/deployments": 1,
        },
        "statuses": {"200": 3, "dropped": 1},
        "total": 4,
        "mutating": 1,
        "bytes_uploaded": len(artifact),
        "deploys": 1,
        "scope_probes": 0,
    }
    reset = http.delete("/_emulator/stats").json()
    assert reset["total"] == 0
    assert reset["requests"] == {}


LIST_APPS = _Call("GET", "/v1/projects/{project_id}/apps", "list_apps")


def test_a_latency_counts_its_skips_itself_not_on_the_rule_it_was_given():
    rule = Latency(ms=300, route="list_apps", skip=1)
    first, second = Faults(), Faults()
    first.add_latency(rule)
    second.add_latency(rule)
    assert [first.on_request(LIST_APPS)[0] for _ in range(3)] == [0, 0.3, 0.3]
    assert second.on_request(LIST_APPS)[0] == 0  # its own first call still passes at once
    assert rule == Latency(ms=300, route="list_apps", skip=1)
    assert first.describe()["latency"][0]["skip"] == 0
    assert second.describe()["latency"][0]["skip"] == 0


def test_a_shot_counts_its_calls_itself_not_on_the_rule_it_was_given():
    rule = Shot(kind="fail", route="list_apps", remaining=2)
    first, second = Faults(), Faults()
    first.add_shot(rule)
    second.add_shot(rule)
    assert [first.on_request(LIST_APPS)[1] for _ in range(3)] == [rule, rule, None]
    assert second.describe()["shots"] == [asdict(rule)]
    assert [second.on_request(LIST_APPS)[1] for _ in range(3)] == [rule, rule, None]
