"""Tokens, scopes and project membership: 401, 403 and 404 before anything else."""

import pytest

from comwit.emulator.server import serve_in_thread

from tests.emulator_support import PROJECT, assert_problem, client, create_app


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """One server for this module: these tests only read, or write where no other test looks."""
    with serve_in_thread(tmp_path_factory.mktemp("emulator")) as running:
        yield running


APP = f"/v1/projects/{PROJECT}/apps/APP"

# (method, path, json body, the scope the route needs)
ROUTES = [
    ("GET", "/v1/projects", None, "project:read"),
    ("POST", f"/v1/projects/{PROJECT}/apps", {"name": "web"}, "app:write"),
    ("GET", f"/v1/projects/{PROJECT}/apps", None, "app:read"),
    ("GET", APP, None, "app:read"),
    ("DELETE", APP, None, "app:write"),
    ("POST", f"{APP}/deployments", None, "app:deploy"),
    ("GET", f"{APP}/builds", None, "app:read"),
    ("POST", f"{APP}/rollbacks", {"build_id": "build-x"}, "app:deploy"),
    ("GET", f"{APP}/domains", None, "app:read"),
    ("POST", f"{APP}/domains", {"domain": "a.example.com"}, "app:write"),
    ("POST", f"{APP}/domains/a.example.com/finalize", {}, "app:write"),
    ("DELETE", f"{APP}/domains/a.example.com", None, "app:write"),
    ("GET", f"{APP}/environment", None, "app:read"),
    ("PUT", f"{APP}/environment/KEY", {"value": "v"}, "app:write"),
    ("DELETE", f"{APP}/environment/KEY", None, "app:write"),
]
ALL = ["project:read", "app:read", "app:deploy", "app:write"]


def _call(http, method, path, body, app_id="app-missing"):
    return http.request(method, path.replace("APP", app_id), json=body)


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES)
def test_every_route_answers_401_without_a_token(emulator, method, path, body, scope):
    with client(emulator) as http:
        response = _call(http, method, path, body)
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer nope", "Basic abc", "cwt_00", "Bearer cwt_XYZ", "Bearer cwt_00"]
)
def test_malformed_or_unknown_tokens_answer_401(emulator, header):
    with client(emulator) as http:
        response = http.get("/v1/projects", headers={"Authorization": header})
    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES)
def test_every_route_answers_403_without_its_scope(emulator, method, path, body, scope):
    token = emulator.issue_token([s for s in ALL if s != scope], [PROJECT])
    with client(emulator, token) as http:
        response = _call(http, method, path, body)
    body = assert_problem(response, 403, "missing_scope")
    assert scope in body["detail"]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES[1:])
def test_project_routes_answer_403_to_a_non_member(emulator, method, path, body, scope):
    emulator.issue_token(ALL, [PROJECT])  # the project exists, with another member
    stranger = emulator.issue_token(ALL, ["elsewhere"])
    with client(emulator, stranger) as http:
        response = _call(http, method, path, body)
    assert_problem(response, 403, "not_a_member")


def test_the_scope_alone_is_enough_when_the_app_exists(emulator, emulator_token):
    reader = emulator.issue_token(["app:read"], [PROJECT])
    with client(emulator, emulator_token) as http:
        app_id = create_app(http)
    with client(emulator, reader) as http:
        assert http.get(f"/v1/projects/{PROJECT}/apps/{app_id}/builds").status_code == 200


def test_an_unknown_project_answers_404(emulator, emulator_token):
    with client(emulator, emulator_token) as http:
        assert_problem(http.get("/v1/projects/nowhere/apps"), 404, "project_not_found")


def test_projects_lists_only_the_callers_projects_in_order(emulator):
    emulator.issue_token(ALL, ["zeta"])
    token = emulator.issue_token(["project:read"], ["beta", "alpha"])
    with client(emulator, token) as http:
        body = http.get("/v1/projects").json()
    assert body == {
        "projects": [
            {"project_id": "alpha", "name": "alpha"},
            {"project_id": "beta", "name": "beta"},
        ]
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_health_spec_and_docs_need_no_token(emulator, path):
    with client(emulator) as http:
        assert http.get(path).status_code == 200


def test_the_spec_lists_the_contract_routes_and_hides_the_admin_routes(emulator):
    with client(emulator) as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert "/v1/projects/{project_id}/apps/{app_id}/deployments" in paths
    assert not [p for p in paths if p.startswith("/_emulator")]


def test_tokens_can_be_issued_over_http(emulator):
    with client(emulator) as http:
        token = http.post(
            "/_emulator/tokens", json={"scopes": ["project:read"], "projects": ["p"]}
        ).json()["token"]
        refused = http.post("/_emulator/tokens", json={"scopes": ["root"], "projects": []})
    assert token.startswith("cwt_")
    with client(emulator, token) as http:
        assert http.get("/v1/projects").json()["projects"][0]["project_id"] == "p"
    assert_problem(refused, 400)


def test_the_data_directory_holds_no_usable_token(emulator, emulator_token):
    for path in emulator.data_dir.rglob("*"):
        if path.is_file():
            assert emulator_token.encode() not in path.read_bytes()
