"""Connecting: from command-line options and the environment to an open API client.

`--api-url local` starts the embedded emulator (no token needed); any other URL needs a
token (see `credentials`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Final, Protocol

import httpx

from comwit.api.client import DEFAULT_CONNECTIONS, ComwitClient
from comwit.api.credentials import LOCAL, load_token, resolve_api_url, resolve_timeout
from comwit.api.limits import DEPLOY_ANSWER_SECONDS, Deadlines
from comwit.errors import ComwitError, CredentialsError
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.secret import Secret

_EMULATOR_PACKAGES: Final = frozenset({"fastapi", "uvicorn", "starlette"})


@frozen
class Connection:
    client: ComwitClient
    base_url: str
    local: bool
    notice: str | None = None  # shown before any output when set (the emulator says so)


def emulator_dir(root: Path) -> Path:
    """Where `--api-url local` keeps the embedded emulator's state (its database and
    artifacts) for the checkout at `root`."""
    return root / ".comwit" / "emulator"


@asynccontextmanager
async def open_client(
    api_url: str | None,
    *,
    environ: Mapping[str, str],
    local_data_dir: Path,
    project: str | None,
    timeout: float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Connection]:
    """An open client for `--api-url` (or COMWIT_API_URL), closed (and the embedded
    emulator stopped) when the block ends. `transport` carries requests to any URL but the
    embedded emulator, which is served in this process on a port of its own; else at most
    `connections` requests are in flight, each on a keep-alive connection. `sleep` passes
    the client's waits between retries."""
    url = resolve_api_url(api_url, environ)
    seconds = resolve_timeout(timeout, environ)
    deadlines = deadlines_for(seconds, explicit=timeout is not None or _has_timeout(environ))
    async with AsyncExitStack() as stack:
        notice = None
        if url == LOCAL:
            emulator = _start_emulator(local_data_dir, project)
            stack.callback(emulator.close)
            url, token, notice = emulator.url, emulator.token, emulator.notice
            transport = None
        else:
            token = load_token(environ)
        client = ComwitClient(
            url,
            token,
            timeout=seconds,
            transport=transport,
            deadlines=deadlines,
            connections=connections,
            sleep=sleep,
        )
        await stack.enter_async_context(client)
        yield Connection(client=client, base_url=url, local=notice is not None, notice=notice)


def deadlines_for(seconds: float, *, explicit: bool) -> Deadlines:
    """Each request's total time, and a deploy's answer's: 10 minutes, like the official CLI,
    unless the user set a timeout, which then rules that wait too."""
    answer = seconds if explicit else DEPLOY_ANSWER_SECONDS
    return Deadlines(request=seconds, deploy_answer=answer)


def _has_timeout(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("COMWIT_TIMEOUT", "").strip())


class _Emulator(Protocol):
    """What comwit.emulator.embedded.start_embedded returns, as far as connecting needs."""

    url: str
    token: Secret

    @property
    def notice(self) -> str: ...

    def close(self) -> None: ...


def _start_emulator(data_dir: Path, project: str | None) -> _Emulator:
    if project is None:
        raise CredentialsError(
            "the local emulator needs a project id: pass --project, set COMWIT_PROJECT, "
            "or name the project in comwit.toml"
        )
    import sqlite3  # the emulator's store: loaded only when the emulator runs here

    try:
        from comwit.emulator.embedded import start_embedded
        from comwit.emulator.store import PROJECT_NAME, PROJECT_RULE

        if not PROJECT_NAME.fullmatch(project):  # before the state dir is made for it
            raise CredentialsError(
                f"the local emulator takes project ids of {PROJECT_RULE}, not "
                f"{quoted(project)}: pass another --project or COMWIT_PROJECT, "
                "or fix `project` in comwit.toml"
            )
        return start_embedded(data_dir, project=project)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in _EMULATOR_PACKAGES:
            raise
        raise CredentialsError(
            "--api-url local needs the emulator extra: run pip install 'comwit[emulator]'"
        ) from exc
    except (ValueError, OSError, sqlite3.Error) as exc:
        raise ComwitError(
            f"the local emulator cannot start with its state in {data_dir} ({exc}); "
            "fix or remove that directory"
        ) from None
