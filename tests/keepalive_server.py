"""A loopback HTTP/1.1 server that keeps connections alive, or drops them on purpose, and
counts what a connection pool does to it: connections opened, requests, most at once.

`script(n)` says what to do with the n-th request (from 0) on a connection: "answer" (and
keep the connection), "answer-close" (answer, then close it without saying so before),
"drop" (close it without answering), "stall" (never answer), "answer-then-408" (answer, and
a moment later send an unasked 408, as a server does when it gives up on an idle
connection), "answer-then-408-close" (the same, then close), or a `Raw` answer written as
it is. It runs its own event loop in a thread, over TLS when given an `ssl.SSLContext`.
`run_resolving` runs a coroutine on an event loop whose name lookups answer from a table
(no DNS), and `blackholed` is a loopback port whose connects never complete, like a route
that drops packets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from tests.hostile import read_request, serving

T = TypeVar("T")


@dataclass(frozen=True)
class Raw:
    """An answer written byte for byte; the connection is closed after it when `close`."""

    data: bytes
    close: bool = False


Script = Callable[[int], "str | Raw"]
GAVE_UP: Final = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass
class Seen:
    url: str = ""
    port: int = 0
    connections: int = 0
    requests: list[str] = field(default_factory=list)  # "METHOD /path" as they came
    in_flight: int = 0
    most_in_flight: int = 0


def always_answer(n: int) -> str:
    return "answer"


@contextmanager
def keepalive_server(
    script: Script = always_answer,
    *,
    delay: float = 0.0,
    tls: ssl.SSLContext | None = None,
    answers: Callable[[str], object] = lambda request: {"apps": []},
) -> Iterator[Seen]:
    """Answer each request ("METHOD /path") with `answers(request)` as JSON after `delay`
    seconds, as `script` says."""
    seen = Seen()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            for n in range(10_000):
                request = await read_request(reader)
                seen.requests.append(request)
                step = script(n)
                if isinstance(step, Raw):
                    writer.write(step.data)
                    if step.close:
                        return
                    continue
                if step == "drop":
                    return
                if step == "stall":  # read, never answered: the client gives up first
                    await asyncio.Event().wait()
                await _answer(writer, delay, seen, json.dumps(answers(request)).encode())
                if step.startswith("answer-then-408"):
                    await asyncio.sleep(0.05)  # the client has read the answer by now
                    writer.write(GAVE_UP)
                    await writer.drain()
                if step.endswith("close"):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    with serving(handle, tls) as port:
        seen.port = port
        seen.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        yield seen


async def _answer(writer: asyncio.StreamWriter, delay: float, seen: Seen, body: bytes) -> None:
    seen.in_flight += 1
    seen.most_in_flight = max(seen.most_in_flight, seen.in_flight)
    try:
        await asyncio.sleep(delay)
    finally:
        seen.in_flight -= 1
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()


class _ResolvingLoop(asyncio.SelectorEventLoop):
    """Name lookups answered from `names`: host -> [(address, port)], in that order."""

    def __init__(self, names: dict[str, list[tuple[str, int]]], asked: list[str]) -> None:
        super().__init__()
        self._names, self._asked = names, asked

    async def getaddrinfo(  # type: ignore[override]
        self, host: Any, port: Any, **_: Any
    ) -> list[Any]:
        self._asked.append(host)
        if host not in self._names:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test's table")
        return [_info(address, to) for address, to in self._names[host]]


def _info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)


def run_resolving(
    main: Coroutine[Any, Any, T], names: dict[str, list[tuple[str, int]]]
) -> tuple[T, list[str]]:
    """`main`'s result, and the host names it looked up, on a loop resolving from `names`."""
    asked: list[str] = []
    with asyncio.Runner(loop_factory=lambda: _ResolvingLoop(names, asked)) as runner:
        return runner.run(main), asked


@contextmanager
def blackholed(address: str = "::1") -> Iterator[int]:
    """A port on `address` whose new connections never complete: it listens with a full
    backlog and accepts nothing, so the kernel drops the next SYNs."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as listener, socket.socket(family) as filler:
        listener.bind((address, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect((address, port))  # fills the backlog of one
        yield port
