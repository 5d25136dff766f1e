"""Observe: what the API has for the manifest's apps, read with a strict mocked API."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from comwit.api.client import ComwitClient
from comwit.errors import PlanError
from comwit.observe import observe
from comwit.plan.ledger import AppLedger
from comwit.secret import Secret

BASE = "https://api.test"


class _NoLedgers:
    def read(self, app, env_value):  # pragma: no cover - never reached: observe stops first
        raise AssertionError("no app should be read")


def test_two_live_apps_of_one_name_stop_the_plan_before_any_app_is_read():
    router = respx.Router(base_url=BASE, assert_all_mocked=True)  # only the list is answered
    listed = [
        {"app_id": "app-1", "name": "web"},
        {"app_id": "app-2", "name": "api"},
        {"app_id": "app-3", "name": "web"},
    ]
    router.get("/v1/projects/p1/apps").respond(json={"apps": listed})

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(BASE, Secret("cwt_00ff"), transport=transport) as client:
            await observe(client, "p1", ["api", "web"], _NoLedgers())

    with pytest.raises(PlanError, match=r"2 apps named 'web' \(app-1, app-3\)"):
        asyncio.run(go())


def test_of_two_names_with_twins_the_first_by_name_is_named_whatever_the_listing_order():
    router = respx.Router(base_url=BASE, assert_all_mocked=True)  # only the list is answered
    listed = [
        {"app_id": "app-1", "name": "web"},
        {"app_id": "app-2", "name": "web"},
        {"app_id": "app-3", "name": "api"},
        {"app_id": "app-4", "name": "api"},
    ]
    router.get("/v1/projects/p1/apps").respond(json={"apps": listed})

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(BASE, Secret("cwt_00ff"), transport=transport) as client:
            await observe(client, "p1", ["api", "web"], _NoLedgers())

    with pytest.raises(PlanError, match=r"2 apps named 'api' \(app-3, app-4\)"):
        asyncio.run(go())


class _EmptyLedgers:
    def read(self, app, env_value):
        return AppLedger(), None


def test_each_named_app_is_read_once_and_twins_of_a_name_the_manifest_lacks_are_left_alone():
    router = respx.Router(base_url=BASE, assert_all_mocked=True, assert_all_called=True)
    listed = [
        {"app_id": "app-1", "name": "web", "active_build_id": "build-1"},
        {"app_id": "app-2", "name": "old"},
        {"app_id": "app-3", "name": "old"},
    ]
    router.get("/v1/projects/p1/apps").respond(json={"apps": listed})
    builds = [{"build_id": "build-1", "artifact_size": 10}]
    router.get("/v1/projects/p1/apps/app-1/builds").respond(json={"builds": builds})
    domains = [
        {"domain": "www.example.com", "app_id": "app-1", "status": "active"},
        {"domain": "a.example.com", "app_id": "app-1", "status": "pending_dns"},
    ]
    router.get("/v1/projects/p1/apps/app-1/domains").respond(json={"domains": domains})
    variables = [{"key": "B", "value": "2", "secret": True}, {"key": "A", "value": "1"}]
    router.get("/v1/projects/p1/apps/app-1/environment").respond(json={"variables": variables})

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(BASE, Secret("cwt_00ff"), transport=transport) as client:
            return await observe(client, "p1", ["api", "web"], _EmptyLedgers())

    observation = asyncio.run(go())
    assert observation.state.unmanaged == ("old",)
    assert list(observation.state.apps) == ["web"]  # api is not live yet
    web = observation.state.apps["web"]
    assert (web.app_id, web.active_build_id) == ("app-1", "build-1")
    assert [h.name for h in web.hosts] == ["a.example.com", "www.example.com"]
    assert (web.env, web.secret_env) == ({"A": "1", "B": "2"}, frozenset({"B"}))
    assert len(router.calls) == 4
