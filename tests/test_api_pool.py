"""The connection pool under the client, against a real loopback server: keep-alive reuse,
the bound on requests in flight, connections the server closed, timeouts and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.api.connect import open_client
from comwit.api.pool import FRESH_SECONDS, IDLE_SECONDS, RESERVED, ConnectionPool, urgent
from comwit.api.retry import NO_RETRY
from comwit.cli import main
from comwit.cli.settings import Edges
from comwit.errors import ApiResponseError, ApiTransportError, ConnectionDroppedError, TlsError
from comwit.secret import Secret

from tests.keepalive_server import GAVE_UP, Raw, blackholed, keepalive_server, run_resolving

TOKEN = Secret("cwt_00ff")


def client(url: str, pool: ConnectionPool | None = None, **options: object) -> ComwitClient:
    return ComwitClient(url, TOKEN, transport=pool, retry=NO_RETRY, **options)  # type: ignore[arg-type]


async def list_apps_in_turn(api: ComwitClient, times: int) -> None:
    for _ in range(times):
        assert await api.list_apps("p1") == ()


def test_requests_one_after_another_share_one_keep_alive_connection():
    pool = ConnectionPool(size=4)

    async def go():
        async with client(server.url, pool) as api:
            await list_apps_in_turn(api, 5)

    with keepalive_server() as server:
        asyncio.run(go())
    assert (server.connections, len(server.requests), pool.opened) == (1, 5, 1)


def test_no_more_requests_are_in_flight_than_the_client_has_connections():
    async def go():
        async with client(server.url, connections=2) as api:
            await asyncio.gather(*(api.list_apps("p1") for _ in range(8)))

    with keepalive_server(delay=0.05) as server:
        asyncio.run(go())
    assert (server.most_in_flight, server.connections, len(server.requests)) == (2, 2, 8)


def test_open_client_keeps_as_many_connections_as_it_is_given():
    async def go():
        async with open_client(
            server.url,
            environ={"COMWIT_TOKEN": TOKEN.reveal()},
            local_data_dir=Path("unused"),
            project=None,
            connections=3,
        ) as connection:
            await asyncio.gather(*(connection.client.list_apps("p1") for _ in range(9)))

    with keepalive_server(delay=0.05) as server:
        asyncio.run(go())
    assert (server.most_in_flight, server.connections) == (3, 3)


def test_plan_keeps_to_its_concurrency_on_the_wire(tmp_path):
    names = [f"site{i}" for i in range(6)]
    (tmp_path / "comwit.toml").write_text(
        'version = 1\nproject = "p1"\n'
        + "".join(f'[apps.{name}]\nbuild_dir = "{name}"\n' for name in names)
    )
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(name)

    def answers(request: str) -> object:
        kind = request.rsplit("/", 1)[1]
        if kind == "apps":
            return {"apps": [{"app_id": f"app-{name}", "name": name} for name in names]}
        return {"builds": {"builds": []}, "domains": {"domains": []}}.get(kind, {"variables": []})

    with keepalive_server(delay=0.05, answers=answers) as server:
        environ = {"COMWIT_API_URL": server.url, "COMWIT_TOKEN": TOKEN.reveal(), "NO_COLOR": "1"}
        out, err = io.StringIO(), io.StringIO()
        with contextlib.chdir(tmp_path):
            code = main(
                ["plan", "-q", "--concurrency", "2"], edges=Edges(environ, io.StringIO(), out, err)
            )
    assert code == 0, err.getvalue()
    assert len(server.requests) == 1 + 3 * len(names)
    assert (server.most_in_flight, server.connections) == (2, 2)


def test_a_connection_the_server_closed_while_idle_is_not_used_again():
    async def go():
        async with client(server.url) as api:
            for _ in range(2):
                assert await api.list_apps("p1") == ()
                await asyncio.sleep(0.05)  # the close reaches the client

    with keepalive_server(lambda n: "answer-close") as server:
        asyncio.run(go())
    assert (server.connections, len(server.requests)) == (2, 2)


def test_a_read_the_server_drops_on_a_reused_connection_is_sent_again_on_a_new_one():
    with keepalive_server(lambda n: "answer" if n == 0 else "drop") as server:
        asyncio.run(_both(server.url, second="list"))
    assert server.requests == ["GET /v1/projects/p1/apps"] * 3
    assert server.connections == 2


@pytest.mark.parametrize(
    ("second", "sent"),
    [
        ("create", "POST /v1/projects/p1/apps"),
        ("detach", "DELETE /v1/projects/p1/apps/a1/domains/www.example.com"),
        ("rollback", "POST /v1/projects/p1/apps/a1/rollbacks"),
    ],
)
def test_a_write_its_route_sends_once_is_not_sent_again_after_a_dropped_reuse(second, sent):
    drops = pytest.raises(ConnectionDroppedError, match="may or may not have taken effect")
    with keepalive_server(lambda n: "answer" if n == 0 else "drop") as server, drops:
        asyncio.run(_both(server.url, second=second))
    assert server.requests == ["GET /v1/projects/p1/apps", sent]


def test_an_idempotent_write_the_server_drops_on_a_reused_connection_is_sent_again():
    unreadable = pytest.raises(ApiResponseError)  # the stand-in's answer is no env answer
    with keepalive_server(lambda n: "answer" if n == 0 else "drop") as server, unreadable:
        asyncio.run(_both(server.url, second="put_env"))
    assert server.requests[1:] == ["PUT /v1/projects/p1/apps/a1/environment/K"] * 2
    assert server.connections == 2


def test_a_request_without_the_replay_mark_is_never_sent_twice():
    """Only the client's routes decide: a bare GET through the pool is not resent."""
    pool = ConnectionPool(size=2)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            await http.get("/a")
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/b")

    with keepalive_server(lambda n: "answer" if n == 0 else "drop") as server:
        asyncio.run(go())
    assert server.requests == ["GET /a", "GET /b"]


async def _both(url: str, second: str, pause: float = 0.0) -> None:
    async with client(url) as api:
        await api.list_apps("p1")
        await asyncio.sleep(pause)
        match second:
            case "list":
                assert await api.list_apps("p1") == ()
            case "create":
                await api.create_app("p1", "web")
            case "detach":
                await api.detach_domain("p1", "a1", "www.example.com")
            case "rollback":
                await api.rollback("p1", "a1", "b1")
            case "put_env":
                await api.put_env("p1", "a1", "K", "v")


@pytest.mark.parametrize("second", ["list", "create"])
@pytest.mark.parametrize("gave_up", ["answer-then-408", "answer-then-408-close"])
def test_a_kept_connection_that_received_anything_while_idle_is_not_used_again(gave_up, second):
    """The server's unasked 408 is not read as the next request's answer, and that request
    goes out once, on a new connection."""
    with keepalive_server(lambda n: gave_up if n == 0 else "answer", answers=_apps) as server:
        asyncio.run(_both(server.url, second=second, pause=0.2))
    assert server.requests[1:] == [_SENT[second]]
    assert server.connections == 2


def test_bytes_that_came_right_after_an_answer_make_its_connection_unusable():
    answer = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"apps": []}'
    steps = iter([Raw(answer + GAVE_UP)])  # the first request's answer; then plain ones
    with keepalive_server(lambda n: next(steps, "answer"), answers=_apps) as server:
        asyncio.run(_both(server.url, second="create"))
    assert (server.requests[1:], server.connections) == ([_SENT["create"]], 2)


def test_a_request_never_sent_twice_goes_on_a_new_connection_or_one_used_within_a_second():
    now = [0.0]
    pool = ConnectionPool(size=4, clock=lambda: now[0])

    async def go():
        async with client(server.url, pool) as api:
            await api.list_apps("p1")
            now[0] += FRESH_SECONDS / 2
            await api.create_app("p1", "web")  # on the connection just used
            now[0] += FRESH_SECONDS + 0.5
            await api.create_app("p1", "web")  # a new connection
            now[0] += FRESH_SECONDS + 0.5
            await api.list_apps("p1")  # a read may take one idle for longer

    with keepalive_server(answers=_apps) as server:
        asyncio.run(go())
    assert (len(server.requests), server.connections, pool.opened) == (4, 2, 2)


_SENT = {"list": "GET /v1/projects/p1/apps", "create": "POST /v1/projects/p1/apps"}


def _apps(request: str) -> object:
    if request.startswith("POST"):
        return {"app": {"app_id": "a1", "name": "web"}}
    return {"apps": []}


def test_an_answer_closed_before_its_end_closes_its_connection():
    pool = ConnectionPool(size=4)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            unread = await http.send(http.build_request("GET", "/a"), stream=True)
            await unread.aclose()  # its body is still on the wire
            assert pool.idle == 0
            assert (await http.get("/b")).json() == {"apps": []}
            assert pool.idle == 1

    with keepalive_server() as server:
        asyncio.run(go())
    assert server.connections == 2


def test_an_idle_connection_past_its_time_is_closed_not_reused():
    now = [0.0]
    pool = ConnectionPool(size=4, clock=lambda: now[0])

    async def go():
        async with client(server.url, pool) as api:
            await api.list_apps("p1")
            now[0] += IDLE_SECONDS - 0.5
            await api.list_apps("p1")  # still fresh: reused
            now[0] += IDLE_SECONDS + 0.5
            await api.list_apps("p1")

    with keepalive_server() as server:
        asyncio.run(go())
    assert (server.connections, pool.opened) == (2, 2)


def test_waiting_for_a_free_connection_ends_at_the_pool_timeout():
    pool = ConnectionPool(size=1)

    async def go():
        timeout = httpx.Timeout(5.0, pool=0.1)
        async with httpx.AsyncClient(transport=pool, base_url=server.url, timeout=timeout) as http:
            return await asyncio.gather(http.get("/a"), http.get("/b"), return_exceptions=True)

    with keepalive_server(delay=0.5) as server:
        first, second = asyncio.run(go())
    assert first.status_code == 200
    assert isinstance(second, httpx.PoolTimeout)
    assert server.requests == ["GET /a"]


def test_a_pool_grown_lets_that_many_requests_be_in_flight():
    pool = ConnectionPool(size=1)

    async def go():
        async with client(server.url, pool) as api:
            api.keep_connections(3)
            api.keep_connections(2)  # never fewer than before
            await asyncio.gather(*(api.list_apps("p1") for _ in range(6)))

    with keepalive_server(delay=0.1) as server:
        asyncio.run(go())
    assert (pool.size, server.most_in_flight, server.connections) == (3, 3, 3)


def test_an_urgent_request_takes_a_reserved_slot_while_every_other_one_is_busy():
    """A lease's renewal is not kept waiting by a long upload holding the only slot."""
    pool = ConnectionPool(size=1)

    async def go():
        timeout = httpx.Timeout(5.0, pool=0.1)
        async with httpx.AsyncClient(transport=pool, base_url=server.url, timeout=timeout) as http:
            upload = asyncio.create_task(http.get("/upload"))
            await asyncio.sleep(0.1)  # it holds the pool's one slot
            other = asyncio.create_task(http.get("/other"))
            with urgent():
                renewed = await http.get("/renew")
            late = await asyncio.gather(other, return_exceptions=True)
            return renewed.status_code, (await upload).status_code, late[0]

    with keepalive_server(delay=0.4) as server:
        renewed, uploaded, other = asyncio.run(go())
    assert (renewed, uploaded) == (200, 200)
    assert isinstance(other, httpx.PoolTimeout)  # the reserve is for urgent requests only


def test_urgent_requests_beyond_the_reserve_wait_for_it_so_the_pool_stays_bounded():
    """However many renewals come at once, at most size + RESERVED requests are in flight."""
    pool = ConnectionPool(size=1)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            upload = asyncio.create_task(http.get("/upload"))
            while not server.in_flight:  # it holds the pool's one slot, the server has it
                await asyncio.sleep(0.01)
            with urgent():
                renewals = await asyncio.gather(*(http.get(f"/renew/{n}") for n in range(5)))
            return [r.status_code for r in (await upload, *renewals)]

    with keepalive_server(delay=0.5) as server:
        codes = asyncio.run(go())
    assert codes == [200] * 6
    assert server.most_in_flight == 1 + RESERVED


def test_https_keeps_its_connection_alive_and_checks_the_certificate(tmp_path):
    certificate, key = _self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(certificate, key)
    trusting = ssl.create_default_context(cafile=str(certificate))
    pool = ConnectionPool(ssl_context=trusting)

    async def trusted():
        async with client(server.url, pool) as api:
            await list_apps_in_turn(api, 3)

    async def untrusted():
        async with client(server.url) as api:  # the system's CAs never signed this one
            await api.list_apps("p1")

    with keepalive_server(tls=served) as server:
        asyncio.run(trusted())
        assert server.connections == 1
        with pytest.raises(TlsError, match=r"TLS connection to 127\.0\.0\.1 failed"):
            asyncio.run(untrusted())


def test_a_host_address_that_never_answers_does_not_keep_the_next_one_from_being_tried():
    """Happy Eyeballs: the first address (an IPv6 route that drops packets) is given a
    quarter second, then the next (IPv4) is tried; the connect timeout is far off."""

    async def go():
        async with client(f"http://dual.test:{server.port}", timeout=3.0) as api:
            return await api.list_apps("p1")

    with keepalive_server() as server, blackholed("::1") as dead:
        names = {"dual.test": [("::1", dead), ("127.0.0.1", server.port)]}
        apps, asked = run_resolving(go(), names)
    assert (apps, asked, server.connections) == ((), ["dual.test"], 1)


def test_a_non_ascii_host_is_dialled_and_checked_by_its_idna_2008_name(tmp_path):
    """faß.de is xn--fa-hia.de (IDNA 2008, as httpx encodes it), not IDNA 2003's fass.de."""
    served, trusting = _tls_for(tmp_path, "xn--fa-hia.de")

    async def go():
        async with client(
            f"https://faß.de:{server.port}", ConnectionPool(ssl_context=trusting)
        ) as api:
            return await api.list_apps("p1")

    with keepalive_server(tls=served) as server:
        apps, asked = run_resolving(go(), {"xn--fa-hia.de": [("127.0.0.1", server.port)]})
    assert (apps, asked) == ((), ["xn--fa-hia.de"])


def test_a_header_http_1_1_forbids_is_one_clear_error_that_does_not_show_the_token():
    token = Secret("cwt_0a\x00b7")

    async def go():
        async with ComwitClient(server.url, token, retry=NO_RETRY) as api:
            await api.list_apps("p1")

    with keepalive_server() as server, pytest.raises(ApiTransportError) as caught:
        asyncio.run(go())
    message = str(caught.value)
    assert message == (
        "GET /v1/projects/p1/apps: a header of the request holds a character HTTP/1.1 does "
        "not allow (a control character or a line break)"
    )
    assert "cwt_0a" not in "".join(map(str, _chain(caught.value)))
    assert (server.connections, server.requests) == (0, [])


def _chain(exc: BaseException | None) -> list[BaseException]:
    links = []
    while exc is not None:
        links.append(exc)
        exc = exc.__cause__ or exc.__context__
    return links


# -- what the pool must get right, each of which fails the test when it breaks ------------


_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"


@pytest.mark.parametrize(
    ("method", "answer", "close", "body", "connections"),
    [
        ("GET", _CHUNKED, False, b"hello", 1),
        ("GET", b"HTTP/1.1 200 OK\r\n\r\nhello", True, b"hello", 2),  # ends at the close
        ("GET", b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", False, b"hello", 2),
        ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", False, b"", 1),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", False, b"", 1),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", False, b"", 1),
    ],
    ids=["chunked", "close-delimited", "http-1.0", "204", "304", "head"],
)
def test_each_body_framing_is_read_whole_and_its_connection_kept_only_when_it_may_be(
    method, answer, close, body, connections
):
    """An HTTP/1.0 answer without keep-alive is not reused although the server keeps the
    socket open: the client decides by the protocol, not by the socket."""
    pool = ConnectionPool(size=2)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            return [(await http.request(method, f"/{n}")).content for n in range(2)]

    with keepalive_server(lambda n: Raw(answer, close=close)) as server:
        assert asyncio.run(go()) == [body, body]
    assert (server.connections, len(server.requests)) == (connections, 2)


def test_an_answer_half_read_then_closed_is_not_kept():
    pool = ConnectionPool(size=2)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            response = await http.send(http.build_request("GET", "/a"), stream=True)
            async for _ in response.aiter_raw():
                break  # one chunk of two
            await response.aclose()
            assert pool.idle == 0
            assert (await http.get("/b")).content == b"hello"

    with keepalive_server(lambda n: Raw(_CHUNKED)) as server:
        asyncio.run(go())
    assert server.connections == 2


@pytest.mark.parametrize("when", ["waiting for the head", "reading the body"])
def test_a_request_cancelled_mid_answer_frees_its_slot_and_its_connection_is_not_kept(when):
    stalled = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"  # 90 bytes never come
    pool = ConnectionPool(size=1)

    async def go():
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as http:
            if when == "reading the body":
                response = await http.send(http.build_request("GET", "/a"), stream=True)
                reading = asyncio.create_task(response.aread())
            else:
                reading = asyncio.create_task(http.get("/a"))
            await asyncio.sleep(0.2)
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            if when == "reading the body":
                await response.aclose()
            assert pool.idle == 0
            second = await http.get("/b", timeout=httpx.Timeout(5.0, pool=0.5))
            return second.content

    first = Raw(stalled) if when == "reading the body" else "stall"
    steps = iter([first])  # the first request's answer; then plain ones
    with keepalive_server(lambda n: next(steps, "answer")) as server:
        assert asyncio.run(go()) == b'{"apps": []}'
    assert server.connections == 2


def test_a_certificate_for_another_name_is_refused(tmp_path):
    served, trusting = _tls_for(tmp_path, "other.test")

    async def go():
        async with client(server.url, ConnectionPool(ssl_context=trusting)) as api:
            await api.list_apps("p1")

    with (
        keepalive_server(tls=served) as server,
        pytest.raises(
            TlsError, match=r"address mismatch, certificate is not valid for '127\.0\.0\.1'"
        ),
    ):
        asyncio.run(go())
    assert server.requests == []


def test_the_ca_bundle_named_by_ssl_cert_file_is_trusted(tmp_path, monkeypatch):
    served, _ = _tls_for(tmp_path, "127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))

    async def go():
        async with client(server.url) as api:  # the pool's own context, made from the env
            await list_apps_in_turn(api, 2)

    with keepalive_server(tls=served) as server:
        asyncio.run(go())
    assert (server.connections, len(server.requests)) == (1, 2)


def test_a_proxy_from_the_environment_still_carries_the_requests(monkeypatch):
    async def go():
        async with client("http://127.0.0.1:9") as api:  # nothing listens there
            assert await api.list_apps("p1") == ()

    with keepalive_server() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        asyncio.run(go())
    assert proxy.requests == ["GET http://127.0.0.1:9/v1/projects/p1/apps"]


def test_a_pool_needs_a_connection():
    with pytest.raises(ValueError, match="at least one connection"):
        ConnectionPool(size=0)


def _self_signed(directory: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `name` (an IP address or a DNS name) and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    kind = "IP" if name.replace(".", "").isdigit() else "DNS"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName={kind}:{name}",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return certificate, key


def _tls_for(directory: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server's context with a certificate for `name`, and a client's that trusts it."""
    certificate, key = _self_signed(directory, name)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(certificate, key)
    return served, ssl.create_default_context(cafile=str(certificate))
