"""Observe and execute steps, under the wire: HTTP/1.1 keep-alive connections to the API.

An httpx transport with a bounded pool: at most `size` requests in flight, each on its own
connection, and at most `size` idle connections kept for reuse. Taking or returning one is
a list pop or append (httpcore's pool re-examines every pooled connection, polling its
socket, several times per request: at hundreds of apps that was most of comwit's CPU).
h11 reads and writes the messages; timeouts and failures are httpx's own exceptions, which
`transport` turns into comwit errors. Proxies from the environment are not seen here:
httpx routes a proxied URL to its own transport.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Final

import h11
import httpx

DEFAULT_SIZE: Final = 16
# Below uvicorn's 5 s keep-alive, so a server rarely closes a connection as it is reused.
IDLE_SECONDS: Final = 4.0
_READ_SIZE: Final = 64 * 1024
_NEXT_ADDRESS_SECONDS: Final = 0.25  # try the host's next address after this long
# A request extension: True when the request may be sent twice (its route says so, see
# `routes.retry_of`). Without it a request is never sent again after a dropped connection.
REPLAYABLE: Final = "comwit.replayable"
_Origin = tuple[bytes, str, int]


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
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._closed = False
        self.opened = 0  # connections made so far: how well keep-alive works

    @property
    def idle(self) -> int:
        """Connections kept open for the next requests."""
        return sum(len(kept) for kept in self._idle.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the connection pool is closed", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _head_of(request)  # a request HTTP/1.1 cannot carry fails before connecting
        await self._take_slot(request, timeouts.get("pool"))
        try:
            return await self._exchange(request, head, timeouts)
        except BaseException:
            self._slots.release()
            raise

    async def aclose(self) -> None:
        self._closed = True
        for kept in self._idle.values():
            for connection in kept:
                connection.close()
        self._idle.clear()

    # -- one request on one connection --------------------------------------------------------

    async def _exchange(
        self, request: httpx.Request, head: h11.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        origin = _origin(request.url)
        connection = self._reusable(origin)
        if connection is not None:
            try:
                return await self._answer(connection, request, head, timeouts)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # The server closed it as we reused it: nothing was answered, yet it may
                # have acted. Send again once on a new connection only when the request's
                # route allows a repeat (the method alone does not: a detach is a DELETE).
                if connection.answered or not _replayable(request):
                    raise
        connection = await self._open(origin, request, timeouts.get("connect"))
        return await self._answer(connection, request, head, timeouts)

    async def _answer(
        self,
        connection: _Connection,
        request: httpx.Request,
        head: h11.Request,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        try:
            answer = await connection.send(
                request, head, timeouts.get("write"), timeouts.get("read")
            )
        except BaseException:
            connection.close()
            raise
        body = _Body(self, connection, timeouts.get("read"))
        return httpx.Response(
            answer.status_code,
            headers=answer.headers.raw_items(),
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            request=request,
        )

    async def _take_slot(self, request: httpx.Request, seconds: float | None) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # at once
            return
        try:
            async with asyncio.timeout(seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"all {self.size} connections stayed busy", request=request
            ) from None

    def _reusable(self, origin: _Origin) -> _Connection | None:
        kept = self._idle.get(origin)
        now = self._clock()
        while kept:
            connection = kept.pop()  # the most recent: the least likely to be closed by now
            if connection.usable(now - self._idle_seconds):
                return connection
            connection.close()
        return None

    async def _open(
        self, origin: _Origin, request: httpx.Request, seconds: float | None
    ) -> _Connection:
        scheme, host, port = origin
        secure = scheme == b"https"
        context = self._context() if secure else None
        try:
            async with asyncio.timeout(seconds):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if secure else None,
                    # Happy Eyeballs (RFC 8305), as httpcore did: an address that never
                    # answers (a blackholed IPv6 route) does not use up the connect timeout.
                    happy_eyeballs_delay=_NEXT_ADDRESS_SECONDS,
                    interleave=1,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except OSError as exc:  # ssl.SSLError too: `transport` finds it in the chain
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        self.opened += 1
        return _Connection(origin, reader, writer, request)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _release(self, connection: _Connection, *, reusable: bool) -> None:
        self._slots.release()
        if reusable and not self._closed:
            kept = self._idle.setdefault(connection.origin, [])
            if len(kept) < self.size:
                connection.idle_since = self._clock()
                kept.append(connection)
                return
        connection.close()


class _Connection:
    """One socket and its h11 state machine."""

    def __init__(
        self,
        origin: _Origin,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: httpx.Request,
    ) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self.answered = False  # some byte of an answer to the current request has come
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT)
        self.request = request  # the one being sent, for the exceptions' `request`

    def usable(self, idle_after: float) -> bool:
        """Not closed by the server, not idle since before `idle_after`."""
        alive = not self._reader.at_eof() and not self._writer.is_closing()
        return alive and self.idle_since >= idle_after

    async def send(
        self, request: httpx.Request, head: h11.Request, write: float | None, read: float | None
    ) -> h11.Response:
        """Send the whole request, then read up to the answer's head."""
        self.request = request
        self.answered = False
        assert isinstance(request.stream, httpx.AsyncByteStream)  # an AsyncClient's request
        failed: httpx.WriteError | None = None
        try:
            await self._write(head, write)
            async for chunk in request.stream:  # the body's own errors pass as they are
                if chunk:
                    await self._write(h11.Data(data=chunk), write)
            await self._write(h11.EndOfMessage(), write)
        except httpx.WriteError as exc:
            failed = exc  # a server may answer (413, 401) and close before reading it all
        try:
            return await self._head(read)
        except httpx.TransportError:
            if failed is not None:
                raise failed from failed.__cause__
            raise

    async def next_event(self, read: float | None) -> h11.Event:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=self.request) from exc
            if isinstance(event, h11.Event):
                return event
            if event is not h11.NEED_DATA:  # PAUSED: the server sent more than one answer
                raise httpx.RemoteProtocolError(
                    "the server sent data after its answer", request=self.request
                )
            self._h11.receive_data(await self._read(read))

    def reusable(self) -> bool:
        """The exchange ended cleanly and neither side asked to close."""
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    def start_next(self) -> None:
        self._h11.start_next_cycle()

    def close(self) -> None:
        # abort(): a connection given up on needs no goodbye (and a TLS one could wait for it).
        self._writer.transport.abort()

    async def _head(self, read: float | None) -> h11.Response:
        while True:
            event = await self.next_event(read)
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "the server closed the connection without answering", request=self.request
                )
            # InformationalResponse (100 Continue): the real answer follows.

    async def _write(self, event: h11.Event, seconds: float | None) -> None:
        try:
            data = self._h11.send(event)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=self.request) from exc
        try:
            if data:
                self._writer.write(data)
            if self._writer.transport.get_write_buffer_size():  # else the kernel took it all
                async with asyncio.timeout(seconds):
                    await self._writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending", request=self.request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=self.request) from exc

    async def _read(self, seconds: float | None) -> bytes:
        try:
            async with asyncio.timeout(seconds):
                data = await self._reader.read(_READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting", request=self.request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=self.request) from exc
        if data:
            self.answered = True
        return data


class _Body(httpx.AsyncByteStream):
    """An answer's body as it comes; closing it gives the connection back (or closes it
    when the answer was not read to its end)."""

    def __init__(self, pool: ConnectionPool, connection: _Connection, read: float | None) -> None:
        self._pool = pool
        self._connection = connection
        self._read = read
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._complete:
            event = await self._connection.next_event(self._read)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(
                    "the server closed the connection before the answer's end",
                    request=self._connection.request,
                )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        reusable = self._complete and self._connection.reusable()
        if reusable:
            self._connection.start_next()
        self._pool._release(self._connection, reusable=reusable)


def _origin(url: httpx.URL) -> _Origin:
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
