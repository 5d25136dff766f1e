"""End-to-end harness: a project directory, the real CLI and the real emulator, whose stats
count the requests and uploads the CLI made.

A `World` runs the CLI in one of two ways:
- in-process (`transport` set; the `world` fixture): `comwit.cli.main()` in this process, its
  HTTP going through an httpx transport straight into the emulator's ASGI app. No process, no
  port: use it for every test that a process adds nothing to.
- as a process (`transport` None; the `process_world` fixture): `python -m comwit` against the
  emulator served over loopback HTTP. Only for what a process shows: exit codes of the script,
  signals, terminals (`comwit_tty`), the embedded emulator's own server.
Against `comwit emulator serve` (a process of its own: `serve_emulator`), a World with the
`LoopbackHTTP` transport runs the CLI in-process over real HTTP, next to CLI processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import pty
import select
import ssl
import subprocess
import sys
import termios
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from comwit.cli import main
from comwit.cli.settings import Edges
from comwit.emulator.process import Served, serve_process
from comwit.plan import LEDGER_ENV_KEY
from comwit.plan.ledger import AppLedger, decode, encode

PROJECT = "proj"
# The two apps every end-to-end test starts from.
MANIFEST = f"""\
version = 1
project = "{PROJECT}"
[apps.web]
build_dir = "web"
hosts = ["www.example.com"]
[apps.web.env]
LEVEL = "info"
[apps.api]
build_dir = "api"
max_concurrent_requests = 10
"""


def populate(world: World, manifest: str = MANIFEST) -> World:
    """The project of the end-to-end tests in the world's directory: `manifest` (MANIFEST's
    two apps unless given) and the web and api build dirs."""
    world.manifest(manifest)
    world.write("web/index.html", "<h1>v1</h1>")
    world.write("web/assets/app.js", "console.log(1)")
    world.write("api/server.js", "serve()")
    return world


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class World:
    root: Path
    url: str
    token: str
    extra_env: dict[str, str]
    transport: httpx.AsyncBaseTransport | None = None  # None: a process, over loopback HTTP

    @property
    def in_process(self) -> bool:
        return self.transport is not None

    def in_this_process(self) -> World:
        """This process world, its CLI run in this process over real HTTP to the same served
        emulator: for the set-up and the checks around what only a process shows."""
        assert self.transport is None, "already in this process"
        return dataclasses.replace(self, transport=LoopbackHTTP())

    def manifest(self, text: str) -> None:
        (self.root / "comwit.toml").write_text(textwrap.dedent(text))

    def write(self, relative: str, content: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("COMWIT_") and key not in ("FORCE_COLOR", "SOURCE_DATE_EPOCH")
        }
        environ |= {"COMWIT_API_URL": self.url, "COMWIT_TOKEN": self.token, "NO_COLOR": "1"}
        return environ | self.extra_env | (extra or {})

    def comwit_tty(self, *args: str, answer: str, marker: str = "Type 'yes'") -> Result:
        """Run the CLI on a pseudo-terminal, type `answer` when `marker` appears; `out` is
        everything the terminal showed (stdout and stderr share it). A process world only."""
        assert self.transport is None, "a terminal needs a process: use the process_world fixture"
        terminal = Terminal(self, *args, env={"TERM": "xterm", "COLUMNS": "100"}, colour=True)
        terminal.wait_for(marker, timeout=60)
        terminal.type(answer.encode() + b"\n")
        return Result(terminal.finish(), terminal.text, "")

    def comwit(
        self,
        *args: str,
        stdin: str = "",
        env: dict[str, str] | None = None,
        cwd: str = ".",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> Result:
        """Run `comwit ARGS` in the project directory (or `cwd` under it): in-process or as a
        process (see above). In-process only: `clock` is the run's time of day, `sleep` how
        its waits pass (the API's retries, another run's lease; see FakeTime)."""
        environ = self.environ(env)
        if self.transport is not None:
            out, err = io.StringIO(), io.StringIO()
            edges = Edges(environ, io.StringIO(stdin), out, err, self.transport)
            if clock is not None:
                edges = dataclasses.replace(edges, clock=clock)
            if sleep is not None:
                edges = dataclasses.replace(edges, sleep=sleep)
            with contextlib.chdir(self.root / cwd):
                code = main(list(args), edges=edges)
            return Result(code, out.getvalue(), err.getvalue())
        assert clock is None and sleep is None, "in-process only: use the world fixture"
        proc = subprocess.run(
            [sys.executable, "-m", "comwit", *args],
            cwd=self.root / cwd,
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def plan_json(self, *args: str) -> dict[str, Any]:
        result = self.comwit("plan", "--format", "json", *args)
        assert result.code == 0, result.err
        document: dict[str, Any] = result.json()
        return document

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One HTTP request to the emulator (`path` from the root), the way the CLI reaches it."""
        headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        if self.transport is None:
            return httpx.request(
                method, self.url + path, json=json, content=content, headers=headers, timeout=10
            )

        async def send(transport: httpx.AsyncBaseTransport) -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url=self.url) as client:
                response = await client.request(
                    method, path, json=json, content=content, headers=headers, timeout=10
                )
                await response.aread()
                return response

        return asyncio.run(send(self.transport))

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def api(self, path: str) -> Any:
        response = self.request("GET", f"/v1/projects/{PROJECT}/{path}", token=self.token)
        response.raise_for_status()
        return response.json()

    def issue_token(self, *scopes: str) -> str:
        """A new token for the project with only these scopes."""
        token: str = self.admin("POST", "tokens", {"scopes": list(scopes), "projects": [PROJECT]})[
            "token"
        ]
        return token

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.admin("GET", "stats")
        return stats

    def reset_stats(self) -> None:
        self.admin("DELETE", "stats")

    def app(self, name: str) -> dict[str, Any]:
        return next(app for app in self.api("apps")["apps"] if app["name"] == name)

    def builds(self, name: str) -> list[dict[str, Any]]:
        builds: list[dict[str, Any]] = self.api(f"apps/{self.app(name)['app_id']}/builds")["builds"]
        return builds

    def ledger(self, name: str) -> AppLedger:
        """The app's ledger as its env var holds it now."""
        variables = self.api(f"apps/{self.app(name)['app_id']}/environment")["variables"]
        return decode(next(v["value"] for v in variables if v["key"] == LEDGER_ENV_KEY))

    def put_ledger(self, name: str, ledger: AppLedger | str) -> None:
        """Write the app's ledger env var, as another run of comwit would (a str as is)."""
        app_id = self.app(name)["app_id"]
        self.request(
            "PUT",
            f"/v1/projects/{PROJECT}/apps/{app_id}/environment/{LEDGER_ENV_KEY}",
            json={"value": ledger if isinstance(ledger, str) else encode(ledger), "secret": False},
            token=self.token,
        ).raise_for_status()

    def ledger_value(self, name: str) -> str:
        """The app's ledger env var as it is, read or not."""
        variables = self.api(f"apps/{self.app(name)['app_id']}/environment")["variables"]
        value: str = next(v["value"] for v in variables if v["key"] == LEDGER_ENV_KEY)
        return value


class Terminal:
    """`python -m comwit ARGS` with a pseudo-terminal as its controlling terminal, so a typed
    Ctrl-C reaches it as SIGINT the way a shell delivers it."""

    def __init__(
        self, world: World, *args: str, env: dict[str, str] | None = None, colour: bool = False
    ) -> None:
        environ = world.environ({"TERM": "dumb", "COLUMNS": "120", **(env or {})})
        if colour:
            del environ["NO_COLOR"]
        self._main, child = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "comwit", *args],
            cwd=world.root,
            env=environ,
            stdin=child,
            stdout=child,
            stderr=child,
            preexec_fn=_take_terminal,  # noqa: PLW1509 - the child becomes the terminal's session
        )
        os.close(child)
        self.shown = b""

    def wait_for(self, marker: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.shown:
            assert time.monotonic() < deadline, f"no {marker!r} in:\n{self.text}"
            self._read(0.1)

    def type(self, data: bytes) -> None:
        os.write(self._main, data)

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"still running:\n{self.text}"
            self._read(0.05)
        while self._read(0.05):
            pass
        os.close(self._main)
        return self.proc.returncode

    @property
    def text(self) -> str:
        return self.shown.decode(errors="replace").replace("\r\n", "\n")

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self._main], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self._main, 65536)
        except OSError:
            return False
        self.shown += chunk
        return bool(chunk)


def _take_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class FakeTime:
    """A run's time of day that moves only when the run sleeps: pass `clock=time, sleep=
    time.sleep` to `World.comwit`; `slept` lists each wait, by the run's own clock."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # the loop still turns, as it does in a real wait


def wait_for(what: str, ready: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll `ready` until it says True; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def actions(plan: dict[str, Any], app: str | None = None) -> list[str]:
    """The action types of a JSON plan (one app, or all as app/type)."""
    found = []
    for each in plan["apps"]:
        for action in each["actions"]:
            if app is None:
                found.append(f"{each['app']}/{action['type']}")
            elif each["app"] == app:
                found.append(action["type"])
    return found


class LoopbackHTTP(httpx.AsyncBaseTransport):
    """Real HTTP to a served emulator for CLI runs in this process: a new connection for each
    request, so that one transport serves every run (each run has an event loop of its own)."""

    # Plain http:// never uses it; made once, as loading the CA bundle costs ~30 ms each time.
    _tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with httpx.AsyncHTTPTransport(verify=self._tls) as transport:
            response = await transport.handle_async_request(request)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=raw)


@contextlib.contextmanager
def serve_emulator(data: Path, *args: str) -> Iterator[Served]:
    """`comwit emulator serve --port 0` on loopback, state in `data`, its token a member of
    PROJECT; stopped when the block ends, also on errors (see comwit.emulator.process)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_")}
    with serve_process(data, "--project", PROJECT, *args, environ=environ) as served:
        yield served
