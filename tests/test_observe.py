"""Observe: what the API has for the manifest's apps, read with a strict mocked API."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from comwit.api.client import ComwitClient
from comwit.errors import PlanError
from comwit.observe import observe
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
