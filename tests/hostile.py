"""A loopback HTTP server that misbehaves in one chosen way: slow headers, a body trickling
one byte at a time, an endless body, a gzip bomb, or a plain answer with a chosen status.

It reads each request (head and Content-Length body) like a real server, then lets the
chosen behaviour write the answer. It runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Behaviour = Callable[[asyncio.StreamWriter, str], Awaitable[None]]  # writer, "GET /path"


@dataclass
class Hostile:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD /path" as they came


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[Hostile]:
    hostile = Hostile(url="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                hostile.requests.append(request)
                await behaviour(writer, request)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    with serving(handle) as port:
        hostile.url = f"http://127.0.0.1:{port}"
        yield hostile


async def read_request(reader: asyncio.StreamReader) -> str:
    """Read one request's head and Content-Length body; return it as "METHOD /path"."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return " ".join(lines[0].split(" ")[:2])


@contextmanager
def serving(handle: Handler, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Run `handle` for each connection to a loopback port (yielded) on an event loop of
    its own in a thread, holding each handler until it ends; on the way out, close the
    server and cancel what still runs."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.Server] = []
    handling: set[asyncio.Task[None]] = set()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Held here until it ends: the loop holds a connection (and so its handler) only
        # while it reads or writes it. A handler that waits on nothing of the loop's, say
        # an answer stalled for good once the client has half-closed, is otherwise garbage
        # with its socket open, and a collection before `stop` warns in whatever test runs.
        task = asyncio.current_task()
        assert task is not None
        handling.add(task)
        try:
            await handle(reader, writer)
        finally:
            handling.discard(task)

    async def start() -> None:
        servers.append(await asyncio.start_server(held, "127.0.0.1", 0, ssl=tls))
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield servers[0].sockets[0].getsockname()[1]
    finally:

        async def stop() -> None:
            # Cancel the handlers and wait for them: each closes its connection on the way
            # out, and the loop must still run the transports' close callbacks, or a socket
            # is left open when the loop stops (a ResourceWarning in whichever test is next).
            servers[0].close()
            while tasks := [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # the close callbacks the handlers' aborts scheduled

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# -- behaviours -------------------------------------------------------------------------


def slow_headers(interval: float) -> Behaviour:
    """The status line, then the headers one byte every `interval` seconds, never ending."""

    async def behave(writer: asyncio.StreamWriter, request: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(interval)

    return behave


def slow_body(interval: float) -> Behaviour:
    """Headers promising a 10,000-byte JSON body, then one byte every `interval` seconds."""

    async def behave(writer: asyncio.StreamWriter, request: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: 10000\r\n\r\n")
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(interval)

    return behave


async def endless_body(writer: asyncio.StreamWriter, request: str) -> None:
    """A chunked body of spaces that never ends, as fast as the client reads."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    while True:
        writer.write(chunk)
        await writer.drain()


def gzip_bomb(inflated_gib: int = 4) -> bytes:
    """A gzip stream of about 1 KiB per MiB of zeros it inflates to (4 MB for 4 GiB):
    one flushed 1 MiB segment repeated. It has no trailer: no reader should get that far."""
    zeros = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    segment = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    return head + segment * (inflated_gib * 1024 - 1)


def gzip_answer(body: bytes) -> Behaviour:
    async def behave(writer: asyncio.StreamWriter, request: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()

    return behave


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> Behaviour:
    """A complete JSON answer, the same for every request."""
    content = json.dumps(body).encode()

    async def behave(writer: asyncio.StreamWriter, request: str) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(content)}\r\n\r\n".encode()
            + content
        )
        await writer.drain()

    return behave


def routes(answers: dict[str, object], *, status: int = 404, detail: str = "") -> Behaviour:
    """A JSON answer per "METHOD /path" (query left out); any other request gets `status`
    with a problem body holding `detail`."""

    async def behave(writer: asyncio.StreamWriter, request: str) -> None:
        key = request.split("?", 1)[0]
        if key in answers:
            await answer(200, answers[key])(writer, request)
        else:
            problem = {"title": "Nope", "status": status, "detail": detail}
            await answer(status, problem)(writer, request)

    return behave
