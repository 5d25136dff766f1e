"""Apps, deployments, builds, rollbacks and env vars: fields, status codes, problem bodies."""

import pytest

from tests.emulator_support import (
    OCTET,
    PROJECT,
    assert_problem,
    create_app,
    deploy,
    gnu_tar_zst,
)

APPS = f"/v1/projects/{PROJECT}/apps"


@pytest.fixture
def artifact(tmp_path):
    return gnu_tar_zst(tmp_path).read_bytes()


def test_a_new_project_lists_no_apps(http):
    assert http.get(APPS).json() == {"apps": []}


def test_create_answers_the_app_in_an_envelope_and_get_uses_the_same(http):
    created = http.post(APPS, json={"name": "web", "unknown": "ignored"})
    assert created.status_code == 200
    app = created.json()["app"]
    assert app["app_id"].startswith("app-")
    domain = f"{app['app_id']}.apps.comwit-emulator.invalid"
    assert app == {
        "app_id": app["app_id"],
        "name": "web",
        "active_build_id": None,
        "default_domain": domain,
        "default_url": f"https://{domain}",
    }
    assert http.get(f"{APPS}/{app['app_id']}").json() == {"app": app}


def test_apps_are_listed_by_name(http):
    for name in ("zeta", "alpha", "mid"):
        create_app(http, name)
    assert [a["name"] for a in http.get(APPS).json()["apps"]] == ["alpha", "mid", "zeta"]


def test_a_second_app_of_the_same_name_answers_409(http):
    create_app(http)
    assert_problem(http.post(APPS, json={"name": "web"}), 409, "app_exists")


@pytest.mark.parametrize("body", [{}, {"name": 3}, {"name": "Bad_Name"}, {"name": ""}, []])
def test_a_bad_create_body_answers_400(http, body):
    assert_problem(http.post(APPS, json=body), 400)


def test_a_missing_app_answers_404(http):
    assert_problem(http.get(f"{APPS}/app-000000000000"), 404, "app_not_found")


def test_a_bad_app_name_or_env_key_is_echoed_quoted_and_cut(http):
    body = assert_problem(http.post(APPS, json={"name": "o'hara"}), 400, "invalid_app_name")
    assert (
        body["detail"] == "'o'hara' is not a valid app name: use lowercase letters, digits and -."
    )
    body = assert_problem(http.post(APPS, json={"name": "A" * 300}), 400, "invalid_app_name")
    assert body["detail"].startswith(f"'{'A' * 80}... (300 characters)' is not a valid app name")
    env = f"{APPS}/{create_app(http)}/environment"
    body = assert_problem(http.put(f"{env}/IT'S", json={"value": "x"}), 400, "invalid_variable_key")
    assert body["detail"].startswith("'IT'S' is not a valid variable name")


def test_a_deploy_answers_the_documented_json_and_activates_the_build(http, artifact):
    app_id = create_app(http)
    response = deploy(http, app_id, artifact)
    assert response.status_code == 200
    body = response.json()
    assert body == {"app_id": app_id, "build_id": body["build_id"], "hosts": [], "uploaded": True}
    assert body["build_id"].startswith("build-")
    assert http.get(f"{APPS}/{app_id}").json()["app"]["active_build_id"] == body["build_id"]


def test_deploy_query_options_are_accepted_and_hosts_answered(http, artifact):
    app_id = create_app(http)
    response = deploy(
        http,
        app_id,
        artifact,
        hosts="B.example.com,a.example.com,b.example.com",
        env_ref="brrrd/env/app",
        max_concurrent_requests="50",
    )
    assert response.json()["hosts"] == ["b.example.com", "a.example.com"]


@pytest.mark.parametrize(
    "query",
    [
        {"max_concurrent_requests": "0"},
        {"max_concurrent_requests": "many"},
        {"hosts": "not a host"},
        {"hosts": "https://a.example.com"},
    ],
)
def test_bad_deploy_query_answers_400(http, artifact, query):
    app_id = create_app(http)
    assert_problem(deploy(http, app_id, artifact, **query), 400)


def test_builds_list_newest_first_with_their_fields(http, artifact):
    app_id = create_app(http)
    first = deploy(http, app_id, artifact).json()["build_id"]
    second = deploy(http, app_id, artifact).json()["build_id"]
    builds = http.get(f"{APPS}/{app_id}/builds").json()["builds"]
    assert [b["build_id"] for b in builds] == [second, first]
    assert set(builds[0]) == {"build_id", "created_at", "artifact_size", "deployed_at_ms"}
    assert builds[0]["artifact_size"] == len(artifact)
    assert builds[0]["created_at"].endswith("Z")
    assert builds[0]["deployed_at_ms"] >= builds[1]["deployed_at_ms"] > 0


def test_rollback_reactivates_a_prior_build_and_is_a_no_op_on_the_active_one(http, artifact):
    app_id = create_app(http)
    first = deploy(http, app_id, artifact).json()["build_id"]
    deploy(http, app_id, artifact)
    for _ in range(2):
        response = http.post(f"{APPS}/{app_id}/rollbacks", json={"build_id": first})
        assert response.status_code == 200
        assert response.json() == {"app_id": app_id, "build_id": first}
    assert http.get(f"{APPS}/{app_id}").json()["app"]["active_build_id"] == first
    assert len(http.get(f"{APPS}/{app_id}/builds").json()["builds"]) == 2


def test_rollback_to_an_unknown_build_answers_404_and_a_bad_body_400(http, artifact):
    app_id = create_app(http)
    other = create_app(http, "other")
    foreign = deploy(http, other, artifact).json()["build_id"]
    url = f"{APPS}/{app_id}/rollbacks"
    assert_problem(http.post(url, json={"build_id": foreign}), 404, "build_not_found")
    assert_problem(http.post(url, json={"build": "x"}), 400)
    assert_problem(http.post(url, content=b"not json", headers=OCTET), 400)


def test_env_vars_are_upserted_listed_by_key_and_deleted(http):
    app_id = create_app(http)
    env = f"{APPS}/{app_id}/environment"
    assert http.put(f"{env}/ZED", json={"value": "1"}).json() == {"key": "ZED", "secret": False}
    http.put(f"{env}/_A", json={"value": "old", "secret": False})
    http.put(f"{env}/_A", json={"value": "new"})
    assert http.get(env).json() == {
        "variables": [
            {"key": "ZED", "value": "1", "secret": False},
            {"key": "_A", "value": "new", "secret": False},
        ]
    }
    assert http.delete(f"{env}/ZED").status_code == 200
    assert_problem(http.delete(f"{env}/ZED"), 404, "variable_not_found")
    assert [v["key"] for v in http.get(env).json()["variables"]] == ["_A"]


def test_env_refuses_secret_values_bad_keys_and_bad_bodies(http):
    env = f"{APPS}/{create_app(http)}/environment"
    body = assert_problem(
        http.put(f"{env}/TOKEN", json={"value": "hunter2", "secret": True}), 400, "secret_disabled"
    )
    assert "hunter2" not in str(body)
    assert_problem(http.put(f"{env}/1BAD", json={"value": "x"}), 400, "invalid_variable_key")
    assert_problem(http.put(f"{env}/A-B", json={"value": "x"}), 400, "invalid_variable_key")
    refused = assert_problem(http.put(f"{env}/OK", json={"value": 12345678}), 400)
    assert "12345678" not in str(refused)


def test_delete_takes_two_rounds_when_the_app_has_hostnames(http, artifact):
    app_id = create_app(http)
    deploy(http, app_id, artifact, hosts="a.example.com")
    http.put(f"{APPS}/{app_id}/environment/K", json={"value": "v"})
    first = http.delete(f"{APPS}/{app_id}").json()
    second = http.delete(f"{APPS}/{app_id}").json()
    assert (first["complete"], first["domains_deleted"], first["artifacts_present"]) == (
        False,
        1,
        1,
    )
    assert second["complete"] is True
    assert (second["artifacts_deleted"], second["env_keys_deleted"]) == (1, 1)
    assert (second["pointer_deleted"], second["catalog_deleted"]) == (True, True)
    assert_problem(http.get(f"{APPS}/{app_id}"), 404)
    assert_problem(http.delete(f"{APPS}/{app_id}"), 404)
    assert http.get(APPS).json() == {"apps": []}


def test_unknown_routes_and_methods_answer_problem_bodies(http):
    assert_problem(http.get("/v2/nothing"), 404, "not_found")
    assert_problem(http.patch(APPS), 405, "method_not_allowed")
