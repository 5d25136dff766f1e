"""Observe and execute steps, on the wire: one HTTP/1.1 connection to the API.

A socket opened with Happy Eyeballs, its h11 state machine, and an answer's body as a
stream. Socket and protocol failures become httpx's own exceptions (see `pool`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Final

import h11
import httpx

_READ_SIZE: Final = 64 * 1024
_NEXT_ADDRESS_SECONDS: Final = 0.25  # try the host's next address after this long
Origin = tuple[bytes, str, int]  # scheme, host (IDNA-encoded), port
Release = Callable[["Connection", bool], None]  # (connection, reusable)


async def open_connection(
    origin: Origin, context: ssl.SSLContext | None, request: httpx.Request, seconds: float | None
) -> Connection:
    """A new connection to `origin` (TLS with `context` for https), within `seconds`."""
    _, host, port = origin
    loop = asyncio.get_running_loop()
    reader = _Reader()
    try:
        async with asyncio.timeout(seconds):
            transport, protocol = await loop.create_connection(
                lambda: asyncio.StreamReaderProtocol(reader),
                host,
                port,
                ssl=context,
                server_hostname=host if context is not None else None,
                # Happy Eyeballs (RFC 8305), as httpcore did: an address that never
                # answers (a blackholed IPv6 route) does not use up the connect timeout.
                happy_eyeballs_delay=_NEXT_ADDRESS_SECONDS,
                interleave=1,
            )
    except TimeoutError:
        raise httpx.ConnectTimeout("timed out connecting", request=request) from None
    except OSError as exc:  # ssl.SSLError too: `transport` finds it in the chain
        raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return Connection(origin, reader, writer, request)


class _Reader(asyncio.StreamReader):
    """A socket's incoming bytes, counted: a connection that received any while idle (a
    408, a close) is not used again."""

    def __init__(self) -> None:
        super().__init__(limit=_READ_SIZE)
        self.received = 0
        self.ended = False

    def feed_data(self, data: bytes) -> None:  # type: ignore[override]  # a socket gives bytes
        self.received += len(data)
        super().feed_data(data)

    def feed_eof(self) -> None:
        self.ended = True
        super().feed_eof()


class Connection:
    """One socket and its h11 state machine."""

    def __init__(
        self,
        origin: Origin,
        reader: _Reader,
        writer: asyncio.StreamWriter,
        request: httpx.Request,
    ) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self.answered = False  # some byte of an answer to the current request has come
        self._reader = reader
        self._taken = 0  # bytes of `reader` handed to h11
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT)
        self.request = request  # the one being sent, for the exceptions' `request`

    def usable(self, idle_after: float) -> bool:
        """Nothing came since the last answer (no byte, no close) and it has not been idle
        since before `idle_after`. A server that gave up on a connection may have said so
        (a 408) before closing it: such bytes would be read as the next request's answer."""
        quiet = self._reader.received == self._taken and not self._reader.ended
        return quiet and not self._writer.is_closing() and self.idle_since >= idle_after

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
        """The exchange ended cleanly, neither side asked to close, and nothing came after
        the answer (h11 keeps such bytes for the next one)."""
        done = self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE
        return done and self._h11.trailing_data == (b"", False)

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
                self._taken += len(data)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting", request=self.request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=self.request) from exc
        if data:
            self.answered = True
        return data


class Body(httpx.AsyncByteStream):
    """An answer's body as it comes; closing it gives the connection back through `release`
    (told whether it may be reused: not when the answer was not read to its end)."""

    def __init__(self, connection: Connection, read: float | None, release: Release) -> None:
        self._release = release
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
        self._release(self._connection, reusable)
