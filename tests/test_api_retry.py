"""Retries: reads and idempotent writes are repeated within bounds; the rest are sent once."""

from __future__ import annotations

import asyncio
import ssl
from typing import get_args

import httpx
import pytest
import respx

from comwit.api import assumed
from comwit.api.client import ComwitClient
from comwit.api.retry import DEFAULT_RETRY, RetryPolicy
from comwit.api.routes import Route, retry_of
from comwit.errors import (
    ApiTimeoutError,
    ConflictError,
    ConnectFailedError,
    RateLimitedError,
    TlsError,
    UnexpectedStatusError,
    UpstreamError,
)
from comwit.secret import Secret

BASE = "https://api.test"
P = "/v1/projects/p1/apps/app-1"
APPS = {"apps": []}
DOMAIN = {"domain": "a.example.com", "app_id": "app-1", "status": "pending_dns"}


class FakeTime:
    """A clock that only moves when slept on (or told to), recording every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def api():
    """Strict: a request no route matches fails the test."""
    return respx.Router(base_url=BASE, assert_all_mocked=True)


@pytest.fixture
def time_():
    return FakeTime()


def call(router, time_, name, *args, retry=DEFAULT_RETRY):
    """Run one client method with fake time and no jitter (waits are the lower bound)."""

    async def go():
        client = ComwitClient(
            BASE,
            Secret("cwt_00ff"),
            transport=httpx.MockTransport(router.async_handler),
            retry=retry,
            sleep=time_.sleep,
            clock=time_.clock,
            jitter=lambda: 0.0,
        )
        async with client:
            return await getattr(client, name)(*args)

    return asyncio.run(go())


def bad_gateway(**headers):
    return httpx.Response(502, json={"title": "Bad Gateway"}, headers=headers)


def test_502_twice_then_200_succeeds_after_two_backoffs(api, time_):
    route = api.get("/v1/projects/p1/apps").mock(
        side_effect=[bad_gateway(), bad_gateway(), httpx.Response(200, json=APPS)]
    )
    assert call(api, time_, "list_apps", "p1") == ()
    assert route.call_count == 3
    assert time_.sleeps == [0.25, 0.5]


def test_retry_after_is_honoured(api, time_):
    route = api.get("/v1/projects/p1/apps").mock(
        side_effect=[bad_gateway(**{"Retry-After": "3"}), httpx.Response(200, json=APPS)]
    )
    call(api, time_, "list_apps", "p1")
    assert route.call_count == 2
    assert time_.sleeps == [3.0]


def test_a_retry_after_beyond_the_budget_stops_retrying(api, time_):
    route = api.get("/v1/projects/p1/apps").mock(return_value=bad_gateway(**{"Retry-After": "120"}))
    with pytest.raises(UpstreamError, match=r"asked to wait 120 s .*longer than comwit waits"):
        call(api, time_, "list_apps", "p1")
    assert route.call_count == 1
    assert time_.sleeps == []


@pytest.mark.parametrize(
    ("name", "args", "verb", "path", "answer"),
    [
        ("put_env", ("p1", "app-1", "A", "1"), "PUT", f"{P}/environment/A", {"key": "A"}),
        ("delete_env", ("p1", "app-1", "A"), "DELETE", f"{P}/environment/A", {}),
        ("attach_domain", ("p1", "app-1", "a.example.com"), "POST", f"{P}/domains", DOMAIN),
        ("delete_app", ("p1", "app-1"), "DELETE", P, {"complete": True}),
        ("get_app", ("p1", "app-1"), "GET", P, {"app": {"app_id": "app-1", "name": "web"}}),
        ("openapi", (), "GET", "/openapi.json", {}),
    ],
)
@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
def test_idempotent_calls_are_retried_after_timeouts_and_connection_errors(
    api, time_, name, args, verb, path, answer, failure
):
    route = api.request(verb, path).mock(side_effect=[failure, httpx.Response(200, json=answer)])
    call(api, time_, name, *args)
    assert route.call_count == 2


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, bad_gateway()])
def test_a_deploy_is_never_resent(api, time_, tmp_path, failure):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"zstd")
    route = api.post(f"{P}/deployments").mock(side_effect=[failure, httpx.Response(200, json={})])
    with pytest.raises((ApiTimeoutError, UpstreamError)):
        call(api, time_, "deploy", "p1", "app-1", artifact)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("name", "args", "path"),
    [
        ("create_app", ("p1", "web"), "/v1/projects/p1/apps"),
        ("rollback", ("p1", "app-1", "b1"), f"{P}/rollbacks"),
        (
            "finalize_domain",
            ("p1", "app-1", "a.example.com"),
            f"{P}/domains/a.example.com/finalize",
        ),
    ],
)
def test_non_idempotent_posts_are_sent_once(api, time_, name, args, path):
    route = api.post(path).mock(side_effect=[httpx.ConnectTimeout, bad_gateway()])
    with pytest.raises(ApiTimeoutError):
        call(api, time_, name, *args)
    assert route.call_count == 1


def test_a_detach_is_sent_once(api, time_):
    route = api.delete(f"{P}/domains/a.example.com").mock(return_value=bad_gateway())
    with pytest.raises(UpstreamError):
        call(api, time_, "detach_domain", "p1", "app-1", "a.example.com")
    assert route.call_count == 1


def test_retries_stop_at_the_attempt_bound(api, time_):
    route = api.get("/v1/projects/p1/apps").mock(return_value=bad_gateway())
    with pytest.raises(UpstreamError):
        call(api, time_, "list_apps", "p1")
    assert route.call_count == DEFAULT_RETRY.attempts == 4
    assert time_.sleeps == [0.25, 0.5, 1.0]


def test_retries_stop_at_the_time_budget(api, time_):
    policy = RetryPolicy(attempts=100, base_delay=1.0, max_delay=8.0, budget=10.0)
    route = api.get("/v1/projects/p1/apps").mock(side_effect=httpx.ConnectError)
    with pytest.raises(ConnectFailedError):
        call(api, time_, "list_apps", "p1", retry=policy)
    assert time_.sleeps == [0.5, 1.0, 2.0, 4.0]  # the next wait, 4.0, would end at 11.5 s
    assert route.call_count == 5


def test_the_time_budget_counts_the_attempts_themselves(api, time_):
    def slow_timeout(request):
        time_.now += 6.0
        raise httpx.ReadTimeout("slow")

    route = api.get("/v1/projects/p1/apps").mock(side_effect=slow_timeout)
    policy = RetryPolicy(attempts=10, budget=10.0)
    with pytest.raises(ApiTimeoutError):
        call(api, time_, "list_apps", "p1", retry=policy)
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        (httpx.Response(409, json={"detail": "taken"}), ConflictError),
        (httpx.Response(500), UnexpectedStatusError),
        (httpx.Response(503), UnexpectedStatusError),
    ],
)
def test_errors_a_repeat_cannot_cure_are_not_retried(api, time_, answer, error_class):
    route = api.get("/v1/projects/p1/apps").mock(return_value=answer)
    with pytest.raises(error_class):
        call(api, time_, "list_apps", "p1")
    assert route.call_count == 1


def test_a_tls_failure_is_not_retried(api, time_):
    class _Tls(httpx.AsyncBaseTransport):
        calls = 0

        async def handle_async_request(self, request):
            _Tls.calls += 1
            raise httpx.ConnectError("tls") from ssl.SSLError("bad certificate")

    async def go():
        async with ComwitClient(BASE, Secret("cwt_00ff"), transport=_Tls(), sleep=time_.sleep) as c:
            await c.list_apps("p1")

    with pytest.raises(TlsError):
        asyncio.run(go())
    assert _Tls.calls == 1


def test_requests_sent_counts_every_attempt(api, time_):
    api.get("/v1/projects/p1/apps").mock(
        side_effect=[bad_gateway(), httpx.Response(200, json=APPS)]
    )

    async def go():
        transport = httpx.MockTransport(api.async_handler)
        async with ComwitClient(
            BASE, Secret("cwt_00ff"), transport=transport, sleep=time_.sleep
        ) as c:
            await c.list_apps("p1")
            return c.requests_sent

    assert asyncio.run(go()) == 2


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_in_the_upper_half():
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    assert [policy.backoff(n, 0.0) for n in range(1, 8)] == [0.25, 0.5, 1, 2, 4, 4, 4]
    assert [policy.backoff(n, 0.999) for n in (1, 7)] == pytest.approx([0.5, 8.0], rel=1e-3)


def too_many(**headers):
    return httpx.Response(429, json={"title": "Too Many Requests"}, headers=headers)


@pytest.mark.parametrize(
    ("name", "args", "verb", "path", "answer"),
    [
        ("list_apps", ("p1",), "GET", "/v1/projects/p1/apps", APPS),
        ("list_env", ("p1", "app-1"), "GET", f"{P}/environment", {"variables": []}),
        (
            "put_env",
            ("p1", "app-1", "COMWIT_LEDGER", "{}"),
            "PUT",
            f"{P}/environment/COMWIT_LEDGER",
            {"key": "COMWIT_LEDGER"},
        ),
        ("attach_domain", ("p1", "app-1", "a.example.com"), "POST", f"{P}/domains", DOMAIN),
        (
            "create_app",
            ("p1", "web"),
            "POST",
            "/v1/projects/p1/apps",
            {"app": {"app_id": "app-1", "name": "web"}},
        ),
        (
            "rollback",
            ("p1", "app-1", "b1"),
            "POST",
            f"{P}/rollbacks",
            {"app_id": "app-1", "build_id": "b1"},
        ),
    ],
)
def test_a_429_with_retry_after_is_waited_out_and_retried(
    api, time_, name, args, verb, path, answer
):
    route = api.request(verb, path).mock(
        side_effect=[too_many(**{"Retry-After": "1"}), httpx.Response(200, json=answer)]
    )
    call(api, time_, name, *args)
    assert route.call_count == 2
    assert time_.sleeps == [1.0]


def test_a_429_without_retry_after_backs_off(api, time_):
    route = api.get("/v1/projects/p1/apps").mock(
        side_effect=[too_many(), too_many(), httpx.Response(200, json=APPS)]
    )
    call(api, time_, "list_apps", "p1")
    assert route.call_count == 3
    assert time_.sleeps == [0.25, 0.5]


def test_a_429_asking_for_more_than_the_bound_fails_at_once_saying_so(api, time_):
    route = api.put(f"{P}/environment/A").mock(return_value=too_many(**{"Retry-After": "600"}))
    with pytest.raises(RateLimitedError, match=r"failed with 429.*asked to wait 600 s"):
        call(api, time_, "put_env", "p1", "app-1", "A", "1")
    assert route.call_count == 1
    assert time_.sleeps == []


def test_a_create_is_retried_only_after_a_429(api, time_):
    route = api.post("/v1/projects/p1/apps").mock(side_effect=[too_many(), bad_gateway()])
    with pytest.raises(UpstreamError):
        call(api, time_, "create_app", "p1", "web")
    assert route.call_count == 2


def test_a_deploy_answered_429_is_not_resent(api, time_, tmp_path):
    artifact = tmp_path / "app.tar.zst"
    artifact.write_bytes(b"zstd")
    route = api.post(f"{P}/deployments").mock(return_value=too_many(**{"Retry-After": "1"}))
    with pytest.raises(RateLimitedError):
        call(api, time_, "deploy", "p1", "app-1", artifact)
    assert route.call_count == 1


ROUTE_RETRIES = [
    ("list_projects", "repeat"),
    ("list_project_domains", "repeat"),
    ("list_logs", "repeat"),
    ("list_apps", "repeat"),
    ("get_app", "repeat"),
    ("list_builds", "repeat"),
    ("list_domains", "repeat"),
    ("list_env", "repeat"),
    ("healthz", "repeat"),
    ("readyz", "repeat"),
    ("openapi", "repeat"),
    ("delete_app", "repeat"),
    ("attach_domain", "repeat"),
    ("put_env", "repeat"),
    ("delete_env", "repeat"),
    ("create_app", "on_429"),
    ("create_project_domain", "on_429"),
    ("deploy", "never"),
    ("rollback", "on_429"),
    ("finalize_domain", "on_429"),
    ("detach_domain", "on_429"),
]


@pytest.mark.parametrize(("route", "retry"), ROUTE_RETRIES)
def test_each_route_has_one_retry_decision(route, retry):
    assert retry_of(route) == retry


def test_the_table_names_every_route_and_the_assumed_non_idempotent_ones_are_not_repeated():
    assert sorted(r for r, _ in ROUTE_RETRIES) == sorted(get_args(Route))
    assert all(retry_of(r) != "repeat" for r in assumed.NON_IDEMPOTENT_ROUTES)
