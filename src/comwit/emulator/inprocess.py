"""The emulator in this process without a server: an httpx transport straight into its ASGI app.

Hand `EmulatorTransport` to the client (`ComwitClient(transport=...)`, or `Edges(transport=...)`
for the whole CLI): no socket, no thread, no port. What a connection would show is kept: an
answer the app cuts short (the drop fault) is a `RemoteProtocolError`, a slow one times out at
the request's read timeout, and an emulator bug is a 500 answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from comwit.emulator import Closing
from comwit.emulator.app import create_app
from comwit.emulator.faults import Faults
from comwit.emulator.settings import DEFAULT_MAX_ARTIFACT_BYTES, Settings
from comwit.emulator.store import Store

BASE_URL = "http://127.0.0.1:9"  # never dialled: the transport answers in-process


class EmulatorTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport, with a connection's failure modes."""

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=_WholeAnswers(app))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seconds = request.extensions.get("timeout", {}).get("read")
        try:
            async with asyncio.timeout(seconds):
                return await self._asgi.handle_async_request(request)
        except TimeoutError:
            late = "the emulator did not answer in time"
            raise httpx.ReadTimeout(late, request=request) from None


class _WholeAnswers:
    """An answer left unfinished is a dropped connection; one finished before a crash stands."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        finished = False

        async def tracked(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = True
            await send(message)

        try:
            await self._app(scope, receive, tracked)
        except Exception:
            if not finished:
                raise
        if not finished:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )


class InProcessEmulator(Closing):
    """An emulator with its state in `data_dir`, served through `transport`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        auto_dns: bool = False,
        max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
        settings: Settings | None = None,
    ) -> None:
        """`settings`, when given, replaces `auto_dns` and `max_artifact_bytes`."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.store = Store(data_dir)
        chosen = settings or Settings(auto_dns=auto_dns, max_artifact_bytes=max_artifact_bytes)
        self.app: FastAPI = create_app(self.store, chosen)
        self.transport = EmulatorTransport(self.app)
        self.url = BASE_URL

    @property
    def faults(self) -> Faults:
        faults: Faults = self.app.state.faults
        return faults

    def issue_token(self, scopes: Iterable[str], projects: Iterable[str]) -> str:
        return self.store.issue_token(scopes, projects)

    def close(self) -> None:
        self.store.close()
