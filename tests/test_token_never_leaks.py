"""End to end: no command shows or writes the API token, also on errors and with COMWIT_DEBUG.

Every command `comwit --help` lists runs (a command without a case below fails the test,
so a new one cannot escape the scan), then stdout, stderr and every file under the test's
directories (the project, `.comwit/`, saved plans, packed artifacts decompressed too, the
local ledger, temporary files, HOME, the emulator's data) are searched for each token used.
Most runs call `main()` in this process (their retries' waits pass at once: what they print is
what counts); a few of each test run the `comwit` script (start-up, a deploy, a refused token,
a dead API, a failed deploy with COMWIT_DEBUG, Ctrl-C, the embedded and the served emulator),
for what only a process shows: tracebacks and exit as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

from comwit.cli import main
from comwit.cli.settings import Edges

from tests.e2e_support import MANIFEST, PROJECT, Result, World, wait_for

_MANIFEST = MANIFEST + '[environments.staging.apps.web]\nhosts = ["staging.example.com"]\n'
_WINDOW = 12  # characters of a token that count as a leak
_LOCAL_LEDGER_MANIFEST = f"""\
version = 1
project = "{PROJECT}"
[state]
backend = "local"
[apps.solo]
build_dir = "site"
"""


@dataclass
class _Runs:
    """Runs the real CLI and keeps every result for the scan: in this process through `main()`
    (what reached file descriptors 1 and 2 past the streams it was given counts as its output
    too), or with `process=True` as the `comwit` script. TMPDIR is inside the scanned
    directories either way."""

    world: World
    tmp: Path
    capfd: pytest.CaptureFixture[str]
    debug: bool = False
    results: list[tuple[str, Result]] = field(default_factory=list)

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        drop: Iterable[str] = (),
        codes: Iterable[int] = (0,),
        cwd: str = ".",
        process: bool = False,
    ) -> Result:
        (self.world.root / cwd).mkdir(exist_ok=True)
        environ = self._environ(env, drop)
        if process:
            proc = subprocess.run(
                [sys.executable, "-m", "comwit", *args],
                cwd=self.world.root / cwd,
                env=environ,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            result = Result(proc.returncode, proc.stdout, proc.stderr)
        else:
            result = self._in_process(args, environ, self.world.root / cwd)
        self.results.append((" ".join(args), result))
        assert result.code in tuple(codes), f"comwit {' '.join(args)}: {result}"
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "comwit", *args],
            cwd=self.world.root,
            env=self._environ(None, ()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def keep(self, what: str, proc: subprocess.Popen[str]) -> None:
        out, err = proc.communicate(timeout=30)
        self.results.append((what, Result(proc.returncode, out, err)))

    def _in_process(self, args: tuple[str, ...], environ: dict[str, str], cwd: Path) -> Result:
        out, err = io.StringIO(), io.StringIO()
        self.capfd.readouterr()
        edges = Edges(environ, io.StringIO(""), out, err, sleep=_at_once)
        with contextlib.chdir(cwd):
            code = main(list(args), edges=edges)
        beside = self.capfd.readouterr()
        return Result(code, out.getvalue() + beside.out, err.getvalue() + beside.err)

    def _environ(self, env: dict[str, str] | None, drop: Iterable[str]) -> dict[str, str]:
        extra = {"TMPDIR": str(self.tmp)} | ({"COMWIT_DEBUG": "1"} if self.debug else {})
        environ = self.world.environ(extra | (env or {}))
        for key in drop:
            environ.pop(key, None)
        return environ


async def _at_once(seconds: float) -> None:
    """An in-process run's wait (a retry's backoff): the loop turns, no time passes."""
    del seconds
    await asyncio.sleep(0)


# -- one case per command: the runs that exercise it ------------------------------------


def _validate(world: World, run: _Runs) -> None:
    run("validate")
    run("validate", "--env", "staging")


def _schema(world: World, run: _Runs) -> None:
    run("schema")
    run("schema", "--plan")


def _pack(world: World, run: _Runs) -> None:
    run("pack", "web", "-o", "packed/web.tar.zst")
    run("pack", "api")


def _plan(world: World, run: _Runs) -> None:
    world.write("web/index.html", "<h1>planned</h1>")
    for output_format in ("text", "markdown", "json"):
        run("plan", "-v", "--format", output_format)
    run("plan", "--detailed-exitcode", codes=(2,))
    run("plan", "--env", "staging", "--out", "saved/staging.json")
    run("plan", "--api-url", "local", process=True)  # the embedded emulator, in a process


def _apply(world: World, run: _Runs) -> None:
    run("plan", "--out", "saved/plan.json")
    run("apply", "saved/plan.json")
    world.write("api/server.js", "serve(2)")
    run("apply", "--yes", "--format", "json")
    run("apply", "--yes", "-f", "local/comwit.toml")  # the ledger in .comwit/state.json


def _report(world: World, run: _Runs) -> None:
    world.write("web/index.html", "<h1>sharded</h1>")
    run("plan", "--out", "saved/sharded.json", "--shards", "2", "--format", "matrix")
    run("apply", "saved/sharded.json", "--shard", "1/1", "--result", "saved/r1.json")
    run("report", "saved/r1.json")
    run("report", "saved/r1.json", "--format", "json")


def _rollback(world: World, run: _Runs) -> None:
    run("rollback", "web", "--yes")
    run("rollback", "web", "--to", "previous", "--yes", "--format", "json")


def _unlock(world: World, run: _Runs) -> None:
    run("unlock", "web")


def _preview(world: World, run: _Runs) -> None:
    run("preview", "up", "--pr", "3")
    run("preview", "up", "--pr", "3", "--format", "json")
    run("preview", "prune", "--older-than", "1s", "--dry-run")
    run("preview", "down", "--pr", "3", "--yes", "--format", "json")


def _doctor(world: World, run: _Runs) -> None:
    run("doctor", codes=(0, 1))
    run("doctor", "-v", codes=(0, 1))
    run("doctor", "--format", "json", codes=(0, 1))


def _status(world: World, run: _Runs) -> None:
    run("status")
    run("status", "-v", "--format", "json")


def _builds(world: World, run: _Runs) -> None:
    run("builds", "web")
    run("builds", "api", "--format", "json")


def _logs(world: World, run: _Runs) -> None:
    run("logs", "web")
    run("logs", "api", "--format", "json")
    run("logs", "web", "--follow", "--for", "1", "--format", "json")


def _import(world: World, run: _Runs) -> None:
    run("import", "--project", PROJECT, "--out", "imported.toml")
    run("import", "--project", PROJECT, "--app", "web", "--out", "-")


def _init(world: World, run: _Runs) -> None:
    run("init", "--import", "--project", PROJECT, cwd="fresh")
    run("init", "--force", cwd="fresh")


def _dns(world: World, run: _Runs) -> None:
    run("dns")
    run("dns", "web", "--format", "json")


def _completion(world: World, run: _Runs) -> None:
    run("completion", "bash")


def _emulator(world: World, run: _Runs) -> None:
    run("emulator", "token", "--data", str(run.tmp.parent / "cli-emulator"), "--project", "x")
    run("emulator", "domain", "example.org", "--data", str(run.tmp.parent / "cli-emulator"))
    served = run.popen(
        "emulator", "serve", "--port", "0", "--data", str(run.tmp.parent / "served-emulator")
    )
    assert served.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "COMWIT_TOKEN" not in served.stdout.readline():
        pass
    served.send_signal(signal.SIGINT)
    run.keep("emulator serve", served)


_CASES: dict[str, Callable[[World, _Runs], None]] = {
    "validate": _validate,
    "schema": _schema,
    "pack": _pack,
    "plan": _plan,
    "apply": _apply,
    "report": _report,
    "rollback": _rollback,
    "unlock": _unlock,
    "status": _status,
    "builds": _builds,
    "logs": _logs,
    "preview": _preview,
    "doctor": _doctor,
    "import": _import,
    "init": _init,
    "dns": _dns,
    "completion": _completion,
    "emulator": _emulator,
}
_EMULATOR_COMMANDS = {"serve", "token", "domain"}  # what `_emulator` runs


# -- the tests --------------------------------------------------------------------------


@pytest.fixture
def world(process_world):
    """The emulator over loopback HTTP, so that the runs made as processes reach it too."""
    return process_world


@pytest.fixture
def run(world, tmp_path, capfd, monkeypatch):
    """Runs of the CLI; temporary files of either kind of run land in the scanned TMPDIR."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again, in this process too
    return _Runs(world, tmp, capfd)


def test_every_command_listed_by_help_has_a_case_in_this_scan(run):
    listed = _listed_commands(run)
    assert "plan" in listed and "apply" in listed
    assert sorted(set(listed) - set(_CASES)) == [], "add a case for each new command"
    assert set(_listed_commands(run, "emulator")) == _EMULATOR_COMMANDS


def test_no_command_shows_or_writes_the_token(world, run, tmp_path):
    _project(world)
    # The script itself, as CI runs it: start-up, a first deploy, exit without teardown.
    run("--help", process=True)
    run("--version", process=True)
    run("apply", "--yes", process=True)
    world.write("web/index.html", "<h1>v2</h1>")
    run("apply", "--yes")
    for command in _listed_commands(run):
        _CASES[command](world, run)

    assert (world.root / "local" / ".comwit" / "state.json").is_file()
    assert list((world.root / "saved").glob("*.json"))
    assert (world.root / "imported.toml").is_file()
    _assert_never_shown(run.results, [world.token])
    assert _holding(_scanned(tmp_path), [world.token]) == {}
    stored = hashlib.sha256(world.token.encode()).hexdigest()
    assert _holding([tmp_path / "emulator-data"], [stored]), "the scan missed the emulator's data"


def test_refused_tokens_and_errors_never_show_or_write_a_token(world, run, tmp_path):
    _project(world)
    run.debug = True  # COMWIT_DEBUG=1: tracebacks for bugs
    unknown = f"cwt_{secrets.token_hex(20)}"  # the right shape; the emulator answers 401
    junk = f"cwt_junk-{secrets.token_hex(12)}"  # a header value the emulator cannot parse: 401
    spaced = f"cwt_ {secrets.token_hex(12)}"  # refused before any request
    listing_only = world.issue_token("project:read")  # 403 on the app list
    read_only = world.issue_token("project:read", "app:read")  # 403 on the first write
    for args in _api_commands(run):
        run(*args, env={"COMWIT_TOKEN": unknown}, codes=(1,))
    run("plan", env={"COMWIT_TOKEN": unknown}, codes=(1,), process=True)
    for token in (junk, spaced):
        run("plan", env={"COMWIT_TOKEN": token}, codes=(1,))
        run("apply", "--yes", env={"COMWIT_TOKEN": token}, codes=(1,))
    run("plan", env={"COMWIT_TOKEN": listing_only}, codes=(1,))
    run("status", env={"COMWIT_TOKEN": listing_only}, codes=(1,))
    run("apply", "--yes", env={"COMWIT_TOKEN": read_only}, codes=(1,))

    closed = {"COMWIT_API_URL": f"http://127.0.0.1:{_closed_port()}", "COMWIT_TIMEOUT": "2"}
    run("plan", env=closed, codes=(1,))
    run("apply", "--yes", env=closed, codes=(1,), process=True)
    run("doctor", env=closed, codes=(1,))

    in_config = [f"cwt_{secrets.token_hex(20)}" for _ in range(3)]
    configs = _config_files(tmp_path, in_config)
    no_token = ("COMWIT_TOKEN", "COMWIT_CONFIG")
    run("plan", env={"COMWIT_CONFIG": str(configs[0])}, drop=["COMWIT_TOKEN"], codes=(1,))
    run("plan", env={"COMWIT_CONFIG": str(configs[1])}, drop=["COMWIT_TOKEN"], codes=(1,))
    run("plan", drop=no_token, codes=(1,))  # the malformed one in $XDG_CONFIG_HOME

    world.admin("POST", "faults/fail", {"route": "deploy", "count": 5, "status": 502})
    run("apply", "--yes", codes=(1,), process=True)
    world.admin("DELETE", "faults")
    world.admin("POST", "faults/drop", {"route": "create_app", "count": 5, "when": "after"})
    run("apply", "--yes", "--app", "api", codes=(0, 1))
    world.admin("DELETE", "faults")
    run("plan", "-f", "missing.toml", codes=(1,))
    # Values echoed before the token is read (the API URL, --env, COMWIT_TIMEOUT), in a
    # process of their own: this one has long known the token.
    run("plan", "--api-url", world.token, codes=(1,), process=True)
    run("plan", "--api-url", f"http://{world.token}/", codes=(1,), process=True)
    run("plan", "--api-url", "local", "-e", world.token, codes=(1,), process=True)
    run("plan", env={"COMWIT_TIMEOUT": world.token}, codes=(1,), process=True)
    _interrupt_a_plan(world, run)

    tokens = [world.token, unknown, junk, spaced, listing_only, read_only, *in_config]
    _assert_never_shown(run.results, tokens)
    # The scan finds the tokens where the test itself wrote them, and nowhere else.
    assert _holding(_scanned(tmp_path), tokens) == {
        path: [token] for path, token in zip(configs, in_config, strict=True)
    }


# -- setting up, listing, scanning ------------------------------------------------------


def _project(world: World) -> None:
    world.manifest(_MANIFEST)
    world.write("local/comwit.toml", _LOCAL_LEDGER_MANIFEST)
    world.write("local/site/index.html", "<h1>solo</h1>")
    for output in ("saved", "packed"):
        (world.root / output).mkdir()


def _listed_commands(run: _Runs, *group: str) -> list[str]:
    """The commands `comwit [GROUP] --help` lists, in its order."""
    result = run(*group, "--help")
    listing = result.out.split("Commands:", 1)[1]
    return re.findall(r"^  ([a-z][a-z-]*)\b", listing, flags=re.MULTILINE)


def _api_commands(run: _Runs) -> list[tuple[str, ...]]:
    """A run of each listed command that needs the API (others cannot refuse a token)."""
    runs = {
        "plan": ("plan",),
        "apply": ("apply", "--yes"),
        "rollback": ("rollback", "web", "--yes"),
        "status": ("status",),
        "builds": ("builds", "web"),
        "unlock": ("unlock", "web"),
        "logs": ("logs", "web"),
        "doctor": ("doctor",),
        "import": ("import", "--project", PROJECT, "--out", "-"),
        "dns": ("dns",),
    }
    return [runs[name] for name in _listed_commands(run) if name in runs]


def _closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _config_files(tmp_path: Path, tokens: list[str]) -> list[Path]:
    """Config files of the official CLI holding `tokens`: one malformed JSON, one valid with a
    refused token, one malformed at the default place ($XDG_CONFIG_HOME/comwit/config.json)."""
    default = Path(os.environ["XDG_CONFIG_HOME"]) / "comwit" / "config.json"
    paths = [tmp_path / "config" / "broken.json", tmp_path / "config" / "refused.json", default]
    texts = [
        f'{{"token": "{tokens[0]}", "default_project": ',
        f'{{"token": "{tokens[1]}", "default_project": "{PROJECT}"}}',
        textwrap.dedent(f"""\
            # not JSON
            token = "{tokens[2]}"
            """),
    ]
    for path, text in zip(paths, texts, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return paths


def _interrupt_a_plan(world: World, run: _Runs) -> None:
    """Ctrl-C while the plan waits for the API (its app list is held until released)."""
    world.admin("POST", "faults/latency", {"ms": 60_000, "route": "list_apps", "hold": True})
    proc = run.popen("plan")
    wait_for("the plan's app list", lambda: world.admin("GET", "faults")["held"] == 1)
    proc.send_signal(signal.SIGINT)
    run.keep("plan, interrupted", proc)
    world.admin("DELETE", "faults")
    assert run.results[-1][1].code == 130, run.results[-1][1]
    world.admin("DELETE", "faults")


def _scanned(tmp_path: Path) -> list[Path]:
    """The test's directory (project, emulator data, TMPDIR, config) and the HOME of every
    run."""
    return [tmp_path, Path(os.environ["HOME"])]


def _assert_never_shown(results: list[tuple[str, Result]], tokens: list[str]) -> None:
    assert results
    for what, result in results:
        assert not _leaks(result.out.encode(), tokens), f"comwit {what} printed a token on stdout"
        assert not _leaks(result.err.encode(), tokens), f"comwit {what} printed a token on stderr"


def _holding(roots: list[Path], tokens: list[str]) -> dict[Path, list[str]]:
    """The files under `roots` holding any part of `tokens` (see `_leaks`), as bytes and,
    for zstd files (packed artifacts), decompressed too."""
    found: dict[Path, list[str]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            if path.suffix == ".zst":
                data += zstandard.ZstdDecompressor().decompressobj().decompress(data)
            if hits := _leaks(data, tokens):
                found[path] = hits
    return found


def _leaks(data: bytes, tokens: list[str]) -> list[str]:
    """The tokens of which `data` holds 12 characters in a row of the part after `cwt_` (a
    truncated token leaks too; 12 random hex digits do not turn up by chance)."""
    found = []
    for token in tokens:
        secret = token.removeprefix("cwt_").strip().encode()
        windows = {secret[i : i + _WINDOW] for i in range(max(1, len(secret) - _WINDOW + 1))}
        if any(window in data for window in windows):
            found.append(token)
    return found
