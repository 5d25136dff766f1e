"""Observe and execute steps, under the wire: HTTP/1.1 keep-alive connections to the API.

An httpx transport with a bounded pool: at most `size` requests in flight (and `RESERVED`
more for `urgent` ones, such as lease renewals), each on its own connection, and at most
`size` idle connections kept for reuse. Taking or returning one is
a list pop or append (httpcore's pool re-examines every pooled connection, polling its
socket, several times per request: at hundreds of apps that was most of comwit's CPU).
The reserve is what keeps a renewal from waiting behind uploads, not the pool's size: the
executor sizes the pool for its apps' own requests (`grow`), but cannot count the leases
being renewed (an app waiting for a hostname to move keeps its lease and lends its turn to
another app), so only renewals take the reserve and they wait for nothing but each other.
Each connection (socket, h11, the answer's body) is a `wire.Connection`; timeouts and
failures are httpx's own exceptions, which `transport` turns into comwit errors. Proxies
from the environment are not seen here: httpx routes a proxied URL to its own transport.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

import h11
import httpx

from comwit.api.wire import Body, Connection, Origin, open_connection

DEFAULT_SIZE: Final = 16
# Below uvicorn's 5 s keep-alive, so a server rarely closes a connection as it is reused.
IDLE_SECONDS: Final = 4.0
# A request that is never sent twice goes on a new connection or one this recently used:
# a server closes a connection it kept when it chooses, and may be doing so as we send.
FRESH_SECONDS: Final = 1.0
# A request extension: True when the request may be sent twice (its route says so, see
# `routes.retry_of`). Without it a request is never sent again after a dropped connection.
REPLAYABLE: Final = "comwit.replayable"
# Slots beyond `size` that only urgent requests take (see `urgent`), when the others are busy.
RESERVED: Final = 2
_URGENT: ContextVar[bool] = ContextVar("comwit_urgent_requests", default=False)


@contextmanager
def urgent() -> Iterator[None]:
    """Requests sent inside (in this task) may take one of the `RESERVED` slots when every
    other one is busy: a lease's renewal must not wait behind long uploads, or the lease
    runs out while the app is applied."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


class ConnectionPool(httpx.AsyncBaseTransport):
    """Keep-alive connections for any origin; `ssl_context` checks https ones."""

    def __init__(
        self,
        *,
        size: int = DEFAULT_SIZE,
        ssl_context: ssl.SSLContext | None = None,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError(f"a connection pool needs at least one connection, not {size}")
        self.size = size
        self._ssl = ssl_context
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._slots = asyncio.Semaphore(size)
        self._reserved = asyncio.Semaphore(RESERVED)
        self._idle: dict[Origin, list[Connection]] = {}
        self._closed = False
        self.opened = 0  # connections made so far: how well keep-alive works

    def grow(self, size: int) -> None:
        """Allow at least `size` requests in flight from now on, `RESERVED` urgent ones
        besides (a pool never shrinks)."""
        for _ in range(size - self.size):
            self._slots.release()
        self.size = max(self.size, size)

    @property
    def idle(self) -> int:
        """Connections kept open for the next requests."""
        return sum(len(kept) for kept in self._idle.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the connection pool is closed", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _head_of(request)  # a request HTTP/1.1 cannot carry fails before connecting
        slot = await self._take_slot(request, timeouts.get("pool"))
        try:
            return await self._exchange(request, head, timeouts, slot)
        except BaseException:
            slot.release()
            raise

    async def aclose(self) -> None:
        self._closed = True
        for kept in self._idle.values():
            for connection in kept:
                connection.close()
        self._idle.clear()

    # -- one request on one connection --------------------------------------------------------

    async def _exchange(
        self,
        request: httpx.Request,
        head: h11.Request,
        timeouts: dict[str, float | None],
        slot: asyncio.Semaphore,
    ) -> httpx.Response:
        origin = _origin(request.url)
        replayable = _replayable(request)
        connection = self._reusable(origin, self._idle_seconds if replayable else FRESH_SECONDS)
        if connection is not None:
            try:
                return await self._answer(connection, request, head, timeouts, slot)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # The server closed it as we reused it: nothing was answered, yet it may
                # have acted. Send again once on a new connection only when the request's
                # route allows a repeat (the method alone does not: a detach is a DELETE).
                if connection.answered or not replayable:
                    raise
        connection = await self._open(origin, request, timeouts.get("connect"))
        return await self._answer(connection, request, head, timeouts, slot)

    async def _answer(
        self,
        connection: Connection,
        request: httpx.Request,
        head: h11.Request,
        timeouts: dict[str, float | None],
        slot: asyncio.Semaphore,
    ) -> httpx.Response:
        try:
            answer = await connection.send(
                request, head, timeouts.get("write"), timeouts.get("read")
            )
        except BaseException:
            connection.close()
            raise
        body = Body(connection, timeouts.get("read"), functools.partial(self._release, slot=slot))
        return httpx.Response(
            answer.status_code,
            headers=answer.headers.raw_items(),
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            request=request,
        )

    async def _take_slot(self, request: httpx.Request, seconds: float | None) -> asyncio.Semaphore:
        """The semaphore a slot was taken from, to give it back to; waits at most `seconds`."""
        slots = self._slots
        if not slots.locked():
            await slots.acquire()  # at once
            return slots
        if _URGENT.get():
            slots = self._reserved
        try:
            async with asyncio.timeout(seconds):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"all {self.size} connections stayed busy", request=request
            ) from None
        return slots

    def _reusable(self, origin: Origin, idle_for: float) -> Connection | None:
        """The most recently used idle connection, when idle for at most `idle_for`; the
        unusable ones met on the way are closed, older usable ones kept for others."""
        kept = self._idle.get(origin)
        now = self._clock()
        while kept:
            connection = kept[-1]  # the most recent: the least likely to be closed by now
            if not connection.usable(now - self._idle_seconds):
                kept.pop().close()
            elif connection.idle_since < now - idle_for:
                return None
            else:
                return kept.pop()
        return None

    async def _open(
        self, origin: Origin, request: httpx.Request, seconds: float | None
    ) -> Connection:
        context = self._context() if origin[0] == b"https" else None
        connection = await open_connection(origin, context, request, seconds)
        self.opened += 1
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _release(self, connection: Connection, reusable: bool, *, slot: asyncio.Semaphore) -> None:
        slot.release()
        if reusable and not self._closed:
            kept = self._idle.setdefault(connection.origin, [])
            if len(kept) < self.size:
                connection.idle_since = self._clock()
                kept.append(connection)
                return
        connection.close()


def _origin(url: httpx.URL) -> Origin:
    """Scheme, host and port; the host as it goes on the wire (a non-ASCII name in IDNA 2008,
    as httpx encodes it: asyncio and ssl would encode `url.host` as IDNA 2003, and connect to
    and check the certificate of another name, fass.de for faß.de)."""
    scheme = url.raw_scheme
    port = url.port or (443 if scheme == b"https" else 80)
    return scheme, url.raw_host.decode("ascii"), port


def _head_of(request: httpx.Request) -> h11.Request:
    """The request line and headers; httpx's LocalProtocolError when HTTP/1.1 forbids one.
    h11's own message quotes the header, which may be the Authorization one: not kept."""
    try:
        return h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
    except h11.LocalProtocolError:
        pass  # raised outside the handler, so that no traceback can show h11's message
    raise httpx.LocalProtocolError(
        "a header of the request holds a character HTTP/1.1 does not allow "
        "(a control character or a line break)",
        request=request,
    )


def _replayable(request: httpx.Request) -> bool:
    """Safe to send again: marked `REPLAYABLE`, with its body in memory (not a stream)."""
    return request.extensions.get(REPLAYABLE) is True and isinstance(
        request.stream, httpx.ByteStream
    )
