"""Serve the emulator over real HTTP with uvicorn, in a background thread of this process."""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final

import uvicorn
from fastapi import FastAPI

from comwit.emulator.app import create_app
from comwit.emulator.faults import Faults
from comwit.emulator.settings import DEFAULT_MAX_ARTIFACT_BYTES, Settings
from comwit.emulator.store import Store
from comwit.errors import ComwitError
from comwit.frozen import frozen

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_START_TIMEOUT_S: Final = 10.0
_STOP_TIMEOUT_S: Final = 10.0


@frozen
class RunningEmulator:
    """A live emulator: its base URL (no trailing slash) and its state."""

    url: str
    data_dir: Path
    store: Store
    app: FastAPI

    def issue_token(self, scopes: Iterable[str], projects: Iterable[str]) -> str:
        """A new token with `scopes` whose user is a member of `projects` (created if new)."""
        return self.store.issue_token(scopes, projects)

    @property
    def faults(self) -> Faults:
        faults: Faults = self.app.state.faults
        return faults


@contextmanager
def serve_in_thread(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    auto_dns: bool = False,
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
    access_log: bool = False,
    settings: Settings | None = None,
    fix: str = "pass another --data",
) -> Iterator[RunningEmulator]:
    """Run the emulator on `host:port` (0: a free port) until the block exits; `settings`,
    when given, replaces `auto_dns` and `max_artifact_bytes`; `fix` ends the error for a
    `data_dir` that cannot hold the state."""
    with ExitStack() as stack:
        store = Store(data_dir, fix=fix)
        stack.callback(store.close)
        chosen = settings or Settings(auto_dns=auto_dns, max_artifact_bytes=max_artifact_bytes)
        app = create_app(store, chosen)
        sock = _bind(host, port)
        stack.callback(sock.close)
        _quiet_expected_drops()
        server = uvicorn.Server(_config(app, access_log=access_log))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="comwit-emulator", daemon=True
        )
        thread.start()
        stack.callback(_stop, server, thread)
        _wait_started(server, thread)
        yield RunningEmulator(_url(sock), data_dir, store, app)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class _ExpectedDrops(logging.Filter):
    """Hide uvicorn's complaint about an answer cut short: the drop fault does it on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


def _quiet_expected_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _ExpectedDrops) for f in logger.filters):
        logger.addFilter(_ExpectedDrops())


def _config(app: FastAPI, *, access_log: bool) -> uvicorn.Config:
    # Without access logs, leave the process's logging configuration alone (no dictConfig).
    return uvicorn.Config(
        app,
        lifespan="off",
        access_log=access_log,
        log_level="info" if access_log else "warning",
        log_config=_stderr_logging() if access_log else None,
        timeout_graceful_shutdown=2,
    )


def _stderr_logging() -> dict[str, Any]:
    """uvicorn's logging, with access lines on stderr: stdout is for data (URL, token)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on connections of a TCP-proto socket,
    # and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ComwitError(
            f"the emulator cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "pick another --port or --host"
        ) from exc
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator's HTTP server did not start")
        time.sleep(0.005)


def _stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(_STOP_TIMEOUT_S)
