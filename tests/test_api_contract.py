"""The contract as data: the emulator's `/openapi.json` describes exactly the client's routes
and models, and comparing a spec with the contract names each difference."""

from __future__ import annotations

import copy

import pytest

from comwit.api.contract import ROUTES
from comwit.doctor.findings import failed
from comwit.doctor.spec import (
    Document,
    answer_shape,
    body_fields,
    compare,
    model_shape,
    query_names,
)
from comwit.emulator.app import create_app
from comwit.emulator.settings import Assumptions, Settings
from comwit.emulator.store import Store


def _spec(tmp_path, **assumptions):
    store = Store(tmp_path / "emulator")
    try:
        app = create_app(store, Settings(assumptions=Assumptions(**assumptions)))
        return app.openapi()
    finally:
        store.close()


@pytest.fixture(scope="module")
def _default_spec(tmp_path_factory):
    return _spec(tmp_path_factory.mktemp("spec"))


@pytest.fixture
def spec(_default_spec):
    """The spec of an emulator with the default assumptions (a copy each test may change)."""
    return copy.deepcopy(_default_spec)


def test_the_emulator_spec_has_exactly_the_contracts_routes(spec):
    offered = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert offered == {(route.method, route.path) for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_the_emulator_spec_has_exactly_the_client_models_fields(spec, route):
    document = Document(spec)
    operation = document.operation(route)
    assert operation is not None
    assert operation["operationId"] == route.name
    if route.answers:
        assert answer_shape(document, operation) == model_shape(route.answers[0])
    if route.body:
        assert body_fields(document, operation, route.media) == set(route.body)
    assert query_names(document, operation) == set(route.query)


def test_the_emulator_spec_fits_the_contract_in_every_check(spec):
    findings = compare(spec)
    assert [f.line() for f in findings if f.state != "ok" or f.detail] == []
    assert not failed(findings)


def test_a_renamed_rollback_field_is_the_one_difference_named(tmp_path):
    findings = compare(_spec(tmp_path, rollback_body_field="build"))
    different = [f.line() for f in findings if f.state != "ok"]
    assert different == [
        "spec: POST /v1/projects/{project_id}/apps/{app_id}/rollbacks: differs: the request "
        "body has no field 'build_id' (ROLLBACK_BODY_FIELD); it has: 'build'"
    ]
    assert failed(findings)


def test_a_flat_get_app_is_ok_and_says_comwit_reads_both(tmp_path):
    findings = compare(_spec(tmp_path, app_envelope=None))
    noted = [f for f in findings if f.detail]
    assert [(f.check, f.state) for f in noted] == [
        ("spec: GET /v1/projects/{project_id}/apps/{app_id}", "ok")
    ]
    assert "answers the app flat" in noted[0].detail
    assert not failed(findings)


def test_403_for_a_refused_token_differs_but_comwit_copes(tmp_path):
    findings = compare(_spec(tmp_path, status_unauthenticated=403))
    (different,) = [f for f in findings if f.state != "ok"]
    assert different.check.startswith("spec: status 401 for a missing or refused token")
    assert "not declared by any route" in different.detail
    assert not different.needed and not failed(findings)


def test_a_missing_answer_field_and_query_parameter_are_named(spec):
    changed = copy.deepcopy(spec)
    del changed["components"]["schemas"]["AppDeleteReport"]["properties"]["complete"]
    logs = changed["paths"]["/v1/projects/{project_id}/apps/{app_id}/logs"]["get"]
    logs["parameters"] = [p for p in logs["parameters"] if p["name"] != "page_token"]
    lines = [f.line() for f in compare(changed) if f.state != "ok"]
    assert lines == [
        "spec: DELETE /v1/projects/{project_id}/apps/{app_id}: differs: the answer has no "
        "field 'complete'",
        "spec: GET /v1/projects/{project_id}/apps/{app_id}/logs: differs: no query parameter "
        "'page_token' (LOGS_PAGE_TOKEN_PARAM)",
    ]


def test_a_missing_route_differs_and_other_parameter_names_do_not_matter(spec):
    changed = copy.deepcopy(spec)
    paths = changed["paths"]
    del paths["/v1/projects/{project_id}/apps/{app_id}/builds"]
    item = paths.pop("/v1/projects/{project_id}/apps")
    paths["/v1/projects/{projectId}/apps"] = item
    lines = [f.line() for f in compare(changed) if f.state != "ok"]
    assert lines == [
        "spec: GET /v1/projects/{project_id}/apps/{app_id}/builds: differs: the published "
        "spec has no such route"
    ]


def test_a_spec_without_error_statuses_leaves_them_unknown(spec):
    changed = copy.deepcopy(spec)
    for item in changed["paths"].values():
        for operation in item.values():
            operation["responses"] = {"200": operation["responses"]["200"]}
    findings = compare(changed)
    states = {f.check: f.state for f in findings if f.check.startswith("spec: status")}
    assert set(states.values()) == {"unknown"}
    assert not failed(findings)


def test_every_assumption_is_listed_in_the_docs_with_its_evidence():
    from pathlib import Path

    from comwit.api import assumed

    docs = (Path(__file__).parent.parent / "docs" / "api-assumptions.md").read_text()
    names = [n for n in vars(assumed) if n.isupper() and n != "TYPE_CHECKING"]
    assert names and [name for name in names if f"`{name}`" not in docs] == []
