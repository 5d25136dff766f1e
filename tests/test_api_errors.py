"""Error translation: statuses and transport failures become comwit errors, token-free."""

from __future__ import annotations

import asyncio
import ssl
import traceback
from datetime import UTC, datetime

import httpx
import pytest
import respx

from comwit.api.client import ComwitClient
from comwit.api.retry import NO_RETRY
from comwit.api.transport import parse_retry_after
from comwit.errors import (
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
    BadRequestError,
    ConflictError,
    ConnectFailedError,
    ConnectionDroppedError,
    FeatureDisabledError,
    ForbiddenError,
    NotFoundError,
    TlsError,
    UnauthorizedError,
    UnexpectedStatusError,
    UpstreamError,
)
from comwit.secret import Secret

BASE = "https://api.test"
TOKEN_VALUE = "cwt_feedfacefeedface"
APPS = "/v1/projects/p1/apps"


@pytest.fixture
def api():
    """Strict: a request no route matches fails the test."""
    return respx.Router(base_url=BASE, assert_all_mocked=True)


def failure(router, name="list_apps", args=("p1",)):
    """The error a client method raises against the mocked API (retries off)."""

    async def go():
        transport = httpx.MockTransport(router.async_handler)
        async with ComwitClient(
            BASE, Secret(TOKEN_VALUE), transport=transport, retry=NO_RETRY
        ) as c:
            await getattr(c, name)(*args)

    with pytest.raises(Exception) as caught:
        asyncio.run(go())
    return caught.value


def assert_token_free(error):
    text = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert TOKEN_VALUE not in text


PROBLEM = {
    "title": "Conflict",
    "status": 409,
    "detail": "a.example.com has a DNS record",
    "code": "dns_conflict",
}


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (501, FeatureDisabledError),
        (502, UpstreamError),
        (413, UnexpectedStatusError),
        (500, UnexpectedStatusError),
        (503, UnexpectedStatusError),
        (302, UnexpectedStatusError),
    ],
)
def test_each_status_class_has_its_error_carrying_the_problem_detail(api, status, error_class):
    api.get(APPS).respond(
        status, json=PROBLEM, headers={"Content-Type": "application/problem+json"}
    )
    error = failure(api)
    assert type(error) is error_class
    assert (error.method, error.path, error.status) == ("GET", APPS, status)
    assert (error.title, error.detail, error.code) == (
        "Conflict",
        PROBLEM["detail"],
        "dns_conflict",
    )
    assert str(error).startswith(f"GET {APPS} failed with {status}: a.example.com has a DNS record")
    assert_token_free(error)


@pytest.mark.parametrize(
    ("answer", "title", "detail"),
    [
        (httpx.Response(404, text="no such app\n"), None, "no such app"),
        (httpx.Response(404), None, None),
        (httpx.Response(404, json={"title": "Not Found"}), "Not Found", None),
        (httpx.Response(404, text='{"error": "gone"}'), None, '{"error": "gone"}'),
        (httpx.Response(404, text='{"detail": 42}'), None, '{"detail": 42}'),
        (httpx.Response(404, text='["not", "a", "problem"]'), None, '["not", "a", "problem"]'),
        (httpx.Response(404, text="x" * 1000), None, "x" * 297 + "..."),
    ],
)
def test_a_body_that_is_not_a_problem_detail_falls_back_to_the_raw_text(api, answer, title, detail):
    api.get(APPS).mock(return_value=answer)
    error = failure(api)
    assert isinstance(error, NotFoundError)
    assert (error.title, error.detail, error.code) == (title, detail, None)


def test_an_empty_error_body_still_gives_a_sentence(api):
    api.get(APPS).respond(502)
    assert str(failure(api)) == (
        f"GET {APPS} failed with 502: no detail given "
        "(the Comwit control plane failed; retry later)"
    )


def test_a_token_echoed_by_the_server_is_hidden(api):
    api.get(APPS).respond(400, json={"detail": f"bad token {TOKEN_VALUE}"})
    error = failure(api)
    assert error.detail == "bad token <hidden>"
    assert_token_free(error)


def test_the_error_path_has_no_query_string(api, tmp_path):
    artifact = tmp_path / "a.tar.zst"
    artifact.write_bytes(b"x")
    api.post("/v1/projects/p1/apps/app-1/deployments").respond(400, json={"detail": "bad"})
    error = failure(api, "deploy", ("p1", "app-1", artifact))
    assert isinstance(error, BadRequestError)
    assert error.path == "/v1/projects/p1/apps/app-1/deployments"


def test_an_error_path_keeps_its_escapes(api):
    api.get(url__regex=".*").respond(404)
    assert failure(api, "list_apps", ("a/b",)).path == "/v1/projects/a%2Fb/apps"


def test_readyz_raises_for_an_error_other_than_not_ready(api):
    api.get("/readyz").respond(500)
    assert isinstance(failure(api, "readyz", ()), UnexpectedStatusError)


def test_an_openapi_document_that_is_not_json_is_an_api_response_error(api):
    api.get("/openapi.json").respond(200, text="<html>")
    assert isinstance(failure(api, "openapi", ()), ApiResponseError)


def test_retry_after_is_kept_on_the_error(api):
    api.get(APPS).respond(502, headers={"Retry-After": "7"})
    assert failure(api).retry_after == 7.0


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("12", now=now) == 12.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 -0000", now=now) is None  # no zone
    assert parse_retry_after(None) is None


# -- transport failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "error_class", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), ConnectFailedError, "could not connect to api.test"),
        (httpx.ConnectTimeout("timed out"), ApiTimeoutError, "did not answer in time (connecting)"),
        (httpx.ReadTimeout("timed out"), ApiTimeoutError, "(waiting for the answer)"),
        (httpx.WriteTimeout("timed out"), ApiTimeoutError, "(sending the request)"),
        (httpx.PoolTimeout("timed out"), ApiTimeoutError, "(waiting for a free connection)"),
        (httpx.RemoteProtocolError("Server disconnected"), ConnectionDroppedError, "closed before a complete answer"),
        (httpx.ReadError("Connection reset by peer"), ConnectionDroppedError, "may or may not have taken effect"),
        (httpx.ProxyError("407"), ConnectFailedError, "could not connect"),
        (httpx.DecodingError("bad gzip"), ApiResponseError, "cannot read"),
    ],
)  # fmt: skip
def test_transport_failures_have_their_own_family(api, raised, error_class, words):
    api.get(APPS).mock(side_effect=raised)
    error = failure(api)
    assert type(error) is error_class
    assert (error.method, error.path) == ("GET", APPS)
    assert words in str(error)
    assert isinstance(error.__cause__, httpx.HTTPError)
    assert_token_free(error)


class _TlsFailingTransport(httpx.AsyncBaseTransport):
    """Fails as httpx does on a bad certificate: a ConnectError caused by an ssl error."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: unable to get issuer")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from exc


def test_a_tls_failure_is_not_a_plain_connect_failure():
    async def go():
        async with ComwitClient(BASE, Secret(TOKEN_VALUE), transport=_TlsFailingTransport()) as c:
            await c.list_apps("p1")

    with pytest.raises(TlsError, match=r"TLS connection to api\.test failed") as caught:
        asyncio.run(go())
    assert caught.value.path == APPS


def test_a_transport_message_echoing_the_token_is_hidden(api):
    api.get(APPS).mock(
        side_effect=httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN_VALUE}'")
    )
    assert_token_free(failure(api))


def test_status_errors_share_one_base_class():
    for error_class in (BadRequestError, UpstreamError, UnexpectedStatusError):
        assert issubclass(error_class, ApiStatusError)
