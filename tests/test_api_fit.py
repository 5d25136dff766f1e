"""The client where the contract is thin: delete's cadence, apps read through the list route
and decoded wrapped or flat, the rollback assumption's failure, project listing switched off,
logs and project domains, and the advice for a refused token."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from comwit.api import assumed
from comwit.api.client import ComwitClient
from comwit.api.models import DEFAULT_TAIL, App, AppDeleteReport, LogQuery, Project
from comwit.api.projects import visible_projects
from comwit.errors import (
    TOKEN_ADVICE,
    ApiError,
    ForbiddenError,
    UnauthorizedError,
    UpstreamError,
)
from comwit.secret import Secret

BASE = "https://api.test"
P = "/v1/projects/p1/apps/app-1"
APP = {"app_id": "app-1", "name": "web", "active_build_id": "build-1"}


@pytest.fixture
def api():
    return respx.Router(base_url=BASE, assert_all_mocked=True)


def run(router, scenario):
    """Run `scenario(client)`; waits are recorded, never slept. Returns (result, waits)."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(BASE, Secret("cwt_0a"), transport=transport, sleep=sleep) as c:
            return await scenario(c)

    return asyncio.run(go()), waits


# -- delete: the official CLI's `apps delete --wait` ----------------------------------------


def test_delete_repeats_every_2_seconds_until_complete(api):
    incomplete = httpx.Response(200, json={"app_id": "app-1", "complete": False})
    done = httpx.Response(200, json={"app_id": "app-1", "complete": True, "domains_deleted": 1})
    route = api.delete(P).mock(side_effect=[incomplete, incomplete, done])
    report, waits = run(api, lambda c: c.delete_app("p1", "app-1"))
    assert report == AppDeleteReport(app_id="app-1", complete=True, domains_deleted=1)
    assert route.call_count == 3
    assert waits == [2.0, 2.0]


def test_delete_gives_up_after_30_tries_over_58_seconds_naming_the_reported_errors(api):
    body = {"complete": False, "errors": ["cdn tenant busy"]}
    route = api.delete(P).respond(json=body)
    with pytest.raises(ApiError) as caught:
        run(api, lambda c: c.delete_app("p1", "app-1"))
    assert route.call_count == assumed.APP_DELETE_MAX_ROUNDS == 30
    assert "after 30 tries over 58 s (it reports: cdn tenant busy)" in str(caught.value)


def test_a_lost_delete_answer_is_retried_with_backoff_not_the_delete_cadence(api):
    done = httpx.Response(200, json={"complete": True})
    api.delete(P).mock(side_effect=[httpx.Response(502), done])
    report, waits = run(api, lambda c: c.delete_app("p1", "app-1"))
    assert report.complete and len(waits) == 1 and waits[0] < 2.0


# -- apps: the list route, wrapped or flat -----------------------------------------------


def test_find_app_reads_the_list_route_only(api):
    api.get("/v1/projects/p1/apps").respond(json={"apps": [APP, {**APP, "app_id": "app-2"}]})
    found, _ = run(api, lambda c: c.find_app("p1", "app-2"))
    missing, _ = run(api, lambda c: c.find_app("p1", "app-9"))
    assert (found, missing) == (App(app_id="app-2", name="web", active_build_id="build-1"), None)


@pytest.mark.parametrize("body", [{"app": APP}, APP], ids=["wrapped", "flat"])
def test_get_app_reads_the_app_wrapped_or_flat(api, body):
    api.get(P).respond(json=body)
    app, _ = run(api, lambda c: c.get_app("p1", "app-1"))
    assert app == App(**APP)


# -- rollback: the assumed body ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json={"title": "Bad Request", "detail": "missing field build"}),
        httpx.Response(422, json={"detail": [{"loc": ["body", "build"]}]}),
        httpx.Response(200, json={"ok": True}),
    ],
    ids=["400", "422", "unreadable"],
)
def test_a_refused_rollback_names_the_assumption_and_how_to_report_it(api, answer):
    route = api.post(f"{P}/rollbacks").mock(return_value=answer)
    with pytest.raises(ApiError) as caught:
        run(api, lambda c: c.rollback("p1", "app-1", "build-1"))
    message = str(caught.value)
    assert route.calls.last.request.content == b'{"build_id":"build-1"}'
    assert "ROLLBACK_BODY_FIELD" in message and "{'build_id': build id}" in message
    assert "run `comwit doctor`" in message and "report its output" in message


def test_a_rollback_lost_in_transit_is_not_blamed_on_the_assumption(api):
    api.post(f"{P}/rollbacks").respond(502)
    with pytest.raises(UpstreamError) as caught:
        run(api, lambda c: c.rollback("p1", "app-1", "build-1"))
    assert "ROLLBACK_BODY_FIELD" not in str(caught.value)


# -- project listing -------------------------------------------------------------------


def test_visible_projects_lists_them_when_the_api_does(api):
    api.get("/v1/projects").respond(json={"projects": [{"project_id": "p1", "name": "One"}]})
    listing, _ = run(api, visible_projects)
    assert listing.projects == (Project(project_id="p1", name="One"),)
    assert (listing.has("p1"), listing.has("One"), listing.has("p2")) == (True, True, False)


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (404, "project listing is not enabled for this token (404)"),
        (501, "project listing is not enabled for this token (501)"),
        (403, "the token lacks the project:read scope (403)"),
    ],
)
def test_visible_projects_says_why_when_listing_is_off_or_out_of_scope(api, status, why):
    route = api.get("/v1/projects").respond(status, json={"title": "no"})
    listing, waits = run(api, visible_projects)
    assert (listing.projects, listing.unavailable, listing.has("p1")) == (None, why, None)
    assert route.call_count == 1 and waits == []


def test_visible_projects_raises_a_refused_token(api):
    api.get("/v1/projects").respond(401, json={"title": "Unauthorized"})
    with pytest.raises(UnauthorizedError):
        run(api, visible_projects)


# -- a refused token -------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_gets_the_same_advice_whether_401_or_403(api, status):
    api.get("/v1/projects/p1/apps").respond(status, json={"detail": "invalid token"})
    with pytest.raises((UnauthorizedError, ForbiddenError)) as caught:
        run(api, lambda c: c.list_apps("p1"))
    assert TOKEN_ADVICE in str(caught.value)
    assert "cwt_0a" not in str(caught.value)


# -- logs and project domains ------------------------------------------------------------


def test_list_logs_sends_the_official_query_and_the_page_token(api):
    page = {"logs": [{"timestamp": "t", "level": "info", "message": "m", "app_id": "app-1"}]}
    route = api.get(f"{P}/logs").respond(json={**page, "next_page_token": "n2"})
    result, _ = run(
        api,
        lambda c: c.list_logs("p1", "app-1", LogQuery(
            tail=5, since="30m", level="warn", build_id="build-1", route="/x",
            request_id="r1", page_token="n1",
        )),
    )  # fmt: skip
    assert dict(route.calls.last.request.url.params) == {
        "tail": "5", "since": "30m", "level": "warn", "build_id": "build-1", "route": "/x",
        "request_id": "r1", assumed.LOGS_PAGE_TOKEN_PARAM: "n1",
    }  # fmt: skip
    assert (result.next_page_token, result.logs[0].message) == ("n2", "m")


def test_list_logs_sends_only_what_the_query_sets_and_nothing_without_one(api):
    route = api.get(f"{P}/logs").respond(json={"logs": []})
    run(api, lambda c: c.list_logs("p1", "app-1", LogQuery()))
    assert dict(route.calls.last.request.url.params) == {"tail": str(DEFAULT_TAIL)}
    run(api, lambda c: c.list_logs("p1", "app-1"))
    assert dict(route.calls.last.request.url.params) == {}


def test_project_domains_are_listed_and_created_as_the_official_cli_does(api):
    view = {"domain": "example.com", "status": "active", "dns_mode": "route53_delegated"}
    api.get("/v1/projects/p1/domains").respond(json={"domains": [view]})
    created = api.post("/v1/projects/p1/domains").respond(json={"domain": view})
    listed, _ = run(api, lambda c: c.list_project_domains("p1"))
    made, _ = run(api, lambda c: c.create_project_domain("p1", "example.com"))
    assert [d.domain for d in listed] == ["example.com"] and made.status == "active"
    assert created.calls.last.request.content == (
        b'{"domain":"example.com","dns_mode":"route53_delegated"}'
    )
