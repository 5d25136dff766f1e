"""Fault injection and the request log, as pure ASGI middleware in front of the contract routes.

Faults (latency, or a hold until released; an error status for the next N calls; a dropped
connection before or after the request is processed) are set through the emulator-only
`/_emulator/` routes. A drop sends the status line and headers, then closes the connection
without the body, so the client sees a transport error (httpx: `RemoteProtocolError`), never
an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Generic, Literal, TypeVar

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from comwit.api.assumed import SCOPE_PROBE_APP
from comwit.emulator.problems import PROBLEM_MEDIA_TYPE, problem_body
from comwit.frozen import frozen

ADMIN_PREFIX = "/_emulator/"
CONTRACT_PREFIX = "/v1/"
OTHER = "(other)"  # the template of requests outside the emulated routes (spec, docs, 404s)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
When = Literal["before", "after"]


@frozen
class _Call:
    """One request as the rules see it: method, route template and route name."""

    method: str
    template: str = OTHER
    route: str | None = None


@frozen
class Latency:
    """A delay for matching calls, after the first `skip` of them. With `hold`, a call waits
    until the held calls are released (`Faults.release`), `ms` at the most."""

    ms: int
    route: str | None = None
    method: str | None = None
    skip: int = 0
    hold: bool = False


@frozen
class Shot:
    """A fault for the next `remaining` matching calls: an error status, or a dropped connection."""

    kind: Literal["fail", "drop"]
    route: str | None
    remaining: int
    status: int = 502
    when: When = "before"
    retry_after: int | None = None


_Rule = TypeVar("_Rule", Latency, Shot)


@dataclass
class _InForce(Generic[_Rule]):
    """A rule as added, and how many calls it still counts: a latency's calls still to pass
    at once, a shot's calls still to hit. The count is the faults' own, not the caller's."""

    rule: _Rule
    left: int


class Faults:
    """The faults in force and the request statistics; shared by the middleware and admin routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latencies: list[_InForce[Latency]] = []
        self._shots: list[_InForce[Shot]] = []
        self._held: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._mutating = 0
        self._bytes = 0
        self._deploys = 0
        self._probes = 0

    def add_latency(self, latency: Latency) -> None:
        with self._lock:
            self._latencies.append(_InForce(latency, latency.skip))

    def add_shot(self, shot: Shot) -> None:
        with self._lock:
            self._shots.append(_InForce(shot, shot.remaining))

    def clear(self) -> None:
        with self._lock:
            self._latencies.clear()
            self._shots.clear()
        self.release()

    def release(self) -> int:
        """Let every call held now go on (each on its server's loop); how many there were."""
        with self._lock:
            held, self._held = self._held, []
        for loop, released in held:
            # A loop closed since then has no call left waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, released)
        return len(held)

    async def hold(self, seconds: float) -> None:
        """Wait until `release`, `seconds` at the most; counted as held meanwhile."""
        loop = asyncio.get_running_loop()
        entry = (loop, loop.create_future())
        with self._lock:
            self._held.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry[1], seconds)
        finally:
            with self._lock:
                if entry in self._held:
                    self._held.remove(entry)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency": [asdict(replace(x.rule, skip=x.left)) for x in self._latencies],
                "shots": [asdict(replace(x.rule, remaining=x.left)) for x in self._shots],
                "held": len(self._held),
            }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "statuses": dict(sorted(self._statuses.items())),
                "total": sum(self._requests.values()),
                "mutating": self._mutating,
                "bytes_uploaded": self._bytes,
                "deploys": self._deploys,
                "scope_probes": self._probes,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._statuses.clear()
            self._mutating = self._bytes = self._deploys = self._probes = 0

    def on_probe(self) -> None:
        with self._lock:
            self._probes += 1

    def on_request(self, call: _Call) -> tuple[float, Shot | None, bool]:
        """Seconds to wait, the one-shot fault (if any) for this call, and whether the wait
        is a hold (it ends sooner when released); uses up the shot."""
        with self._lock:
            delay, hold = 0, False
            for latency in (x for x in self._latencies if _matches(x.rule, call)):
                if latency.left > 0:
                    latency.left -= 1
                else:
                    delay += latency.rule.ms
                    hold = hold or latency.rule.hold
            shot = next((s for s in self._shots if _matches(s.rule, call)), None)
            if shot is None:
                return delay / 1000, None, hold
            shot.left -= 1
            if shot.left <= 0:
                self._shots.remove(shot)
            return delay / 1000, shot.rule, hold

    def on_response(self, call: _Call, *, status: int, dropped: bool) -> None:
        """Count one finished call; `status` is what the app answered, even if it was dropped."""
        with self._lock:
            self._requests[f"{call.method} {call.template}"] += 1
            self._statuses["dropped" if dropped else str(status)] += 1
            self._mutating += call.method in MUTATING
            self._deploys += call.route == "deploy" and 200 <= status < 300

    def on_upload(self, size: int) -> None:
        with self._lock:
            self._bytes += size


def _resolve(released: asyncio.Future[None]) -> None:
    if not released.done():
        released.set_result(None)


def _matches(rule: Latency | Shot, call: _Call) -> bool:
    """A rule naming a route matches only it; one naming none matches every `/v1/` route."""
    method = rule.method if isinstance(rule, Latency) else None
    if method not in (None, call.method):
        return False
    if rule.route is None:
        return call.template.startswith(CONTRACT_PREFIX)
    return rule.route == call.route


class FaultMiddleware:
    """Log every non-admin request; apply latency and one-shot faults to contract routes."""

    def __init__(self, app: ASGIApp, *, faults: Faults, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.faults = faults
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        if f"/apps/{SCOPE_PROBE_APP}/" in scope["path"]:
            # A client asking which scopes its token holds (see assumed.SCOPE_PROBE_APP): it
            # cannot change anything, so it is counted apart from the calls that can.
            await self.app(scope, receive, send)
            self.faults.on_probe()
            return
        call = self._resolve(scope)
        delay, shot, hold = self.faults.on_request(call)
        if hold:
            await self.faults.hold(delay)
        elif delay:
            await asyncio.sleep(delay)
        body = _CountingBody(receive)
        exchange = _Exchange(send, body, drop=shot is not None and shot.when == "after")
        if shot is None or (shot.kind == "drop" and shot.when == "after"):
            await self.app(scope, body, exchange.send)
        elif shot.kind == "fail":
            await exchange.fail(shot.status, shot.retry_after)
        else:
            await exchange.drop(shot.status)
        self.faults.on_upload(body.size)
        dropped = shot is not None and shot.kind == "drop"
        self.faults.on_response(call, status=exchange.status, dropped=dropped)

    def _resolve(self, scope: Scope) -> _Call:
        for candidate in self.routes:
            if isinstance(candidate, Route) and candidate.matches(scope)[0] is Match.FULL:
                return _Call(scope["method"], candidate.path, candidate.name)
        return _Call(scope["method"])


class _CountingBody:
    """The request body as the app reads it, counted; `drain` reads (and drops) what is left."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.size = 0
        self.done = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
        else:
            self.done = True
        return message

    async def drain(self) -> None:
        # An answer sent before the body is read would make the server close the socket with
        # unread data, and the client could see a reset instead of the answer.
        while not self.done:
            await self()


class _Exchange:
    """The response side: drains the body before answering; can cut the answer short."""

    def __init__(self, send: Send, body: _CountingBody, *, drop: bool) -> None:
        self._send = send
        self._body = body
        self._drop = drop
        self.status = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._body.drain()
            self.status = message["status"]
        elif self._drop and message["type"] == "http.response.body":
            return  # the server then closes the connection mid-answer
        await self._send(message)

    async def fail(self, status: int, retry_after: int | None = None) -> None:
        content = json.dumps(
            problem_body(status, "Injected fault: the emulator was told to fail this call.",
                         "injected_fault")
        ).encode()  # fmt: skip
        start = _start(status, len(content))
        if retry_after is not None:
            start["headers"].append((b"retry-after", b"%d" % retry_after))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": content})

    async def drop(self, status: int) -> None:
        self._drop = True
        await self.send(_start(status, 1))


def _start(status: int, length: int) -> Message:
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", b"%d" % length)]
    return {"type": "http.response.start", "status": status, "headers": headers}
