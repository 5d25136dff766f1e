"""Every request has a total deadline and every answer a size cap, against a real loopback
server that misbehaves: slow headers, a trickling body, an endless body, a gzip bomb."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc

import pytest

from comwit.api.client import ComwitClient
from comwit.api.limits import MAX_ANSWER_BYTES
from comwit.api.retry import NO_RETRY
from comwit.errors import ApiResponseError, ApiTimeoutError
from comwit.secret import Secret

from tests.hostile import (
    answer,
    endless_body,
    gzip_answer,
    gzip_bomb,
    hostile_server,
    slow_body,
    slow_headers,
)


def list_apps(url: str, timeout: float = 5.0):
    async def go():
        async with ComwitClient(url, Secret("cwt_00ff"), timeout=timeout, retry=NO_RETRY) as c:
            return await c.list_apps("p1")

    return asyncio.run(go())


def timed_failure(url: str, timeout: float) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as caught:
        list_apps(url, timeout)
    return str(caught.value), time.monotonic() - started


# These servers never finish their answer and never pause long enough for httpx's own
# timeouts, so only the request's total deadline can end the call, and its message names
# it. How long the call took is wall time on a shared machine: it is never shorter than
# the deadline, and it is not many times longer.
ROOM = 10.0


def test_headers_sent_one_byte_at_a_time_end_at_the_request_deadline():
    with hostile_server(slow_headers(0.1)) as server:
        message, took = timed_failure(server.url, 0.6)
    assert "the 0.6 s limit for one request passed" in message
    assert "(connecting, sending or waiting for the answer)" in message
    assert server.requests == ["GET /v1/projects/p1/apps"]  # one try, no retry
    assert 0.6 <= took < 0.6 + ROOM


def test_a_body_sent_one_byte_at_a_time_ends_at_the_request_deadline():
    with hostile_server(slow_body(0.1)) as server:
        message, took = timed_failure(server.url, 0.6)
    assert "the 0.6 s limit for one request passed (reading the answer)" in message
    assert server.requests == ["GET /v1/projects/p1/apps"]
    assert 0.6 <= took < 0.6 + ROOM


def test_an_endless_body_stops_at_the_answer_cap():
    with hostile_server(endless_body) as server, pytest.raises(ApiResponseError) as caught:
        list_apps(server.url)
    assert f"larger than {MAX_ANSWER_BYTES // 2**20} MiB" in str(caught.value)


def test_a_gzip_bomb_stops_at_the_answer_cap_without_inflating_it():
    bomb = gzip_bomb(inflated_gib=1)
    with hostile_server(gzip_answer(bomb)) as server:
        tracemalloc.start()
        try:
            with pytest.raises(ApiResponseError, match="larger than 16 MiB"):
                list_apps(server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * MAX_ANSWER_BYTES


def test_a_gzip_answer_is_decoded():
    body = gzip.compress(b'{"apps": [{"app_id": "a1", "name": "web"}]}')
    with hostile_server(gzip_answer(body)) as server:
        apps = list_apps(server.url)
    assert [app.name for app in apps] == ["web"]


@pytest.mark.parametrize(
    "body", [b"\x1f\x8b\x08\x00garbage", gzip.compress(b'{"apps": []}', mtime=0)[:-9], b"not gzip"]
)
def test_a_corrupt_or_cut_gzip_answer_is_an_api_response_error(body):
    corrupt = pytest.raises(ApiResponseError, match="gzip encoding is corrupt")
    with hostile_server(gzip_answer(body)) as server, corrupt:
        list_apps(server.url)


def test_an_encoding_comwit_did_not_ask_for_is_refused():
    behave = answer(200, {"apps": []}, {"Content-Encoding": "br"})
    with hostile_server(behave) as server, pytest.raises(ApiResponseError, match="'br'"):
        list_apps(server.url)


def test_an_error_status_body_is_capped_too():
    async def huge_error(writer, request):
        writer.write(b"HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"e" * 65536)
        while True:
            writer.write(chunk)
            await writer.drain()

    with hostile_server(huge_error) as server, pytest.raises(ApiResponseError, match="larger"):
        list_apps(server.url)
