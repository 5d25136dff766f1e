"""The emulator in a process of its own, for benchmarks that time the real `comwit` CLI.

`running_emulator` starts `comwit emulator serve --port 0`, reads the URL and token it
prints, and stops it (SIGINT, as Ctrl-C would, then SIGKILL) when the block ends, also on
errors and interrupts. `run_comwit` runs the CLI against it and times the process;
`scratch` is the temp dir a benchmark works in.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_CLI_TIMEOUT_S = 1800.0
_GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Emulator:
    url: str
    token: str  # every scope, a member of the project given at start
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the emulator's process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def issue_token(self, scopes: Sequence[str], projects: Sequence[str]) -> str:
        body = {"scopes": list(scopes), "projects": list(projects)}
        token: str = self.admin("POST", "tokens", body)["token"]
        return token

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.admin("GET", "stats")
        return stats

    def reset_stats(self) -> None:
        self.admin("DELETE", "stats")

    def add_latency(self, ms: int) -> None:
        """`ms` more on every contract route (`/v1/`), every method."""
        self.admin("POST", "faults/latency", {"ms": ms})

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")


@dataclass(frozen=True)
class Run:
    code: int
    seconds: float  # wall time of the process, interpreter start-up included
    cpu: float  # its user + system CPU seconds
    peak_rss_mb: float
    out: str
    err: str


@contextmanager
def running_emulator(data: Path, log: Path, *args: str) -> Iterator[Emulator]:
    """`comwit emulator serve` on a free loopback port, state in `data`, access log in `log`."""
    command = [sys.executable, "-m", "comwit", "emulator", "serve", "--port", "0"]
    environ = _clean_environ() | {"PYTHONUNBUFFERED": "1"}
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [*command, "--data", str(data), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=environ,
        )
    try:
        yield _read_banner(proc, log)
    finally:
        _stop(proc)


@contextmanager
def scratch(prefix: str, parent: Path | None) -> Iterator[Path]:
    """A new temp dir under `parent` (default: the system's), removed when the block ends.

    Ctrl-C or SIGTERM inside the block ends the benchmark with exit code 130 after that
    clean-up, without a traceback.
    """
    stop_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield work
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt, as Ctrl-C does, so `finally` blocks clean up."""
    signal.signal(signal.SIGTERM, _interrupt)


def describe_machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    load = os.getloadavg()[0]
    return f"# {os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, load {load:.2f}"


def run_comwit(
    args: Sequence[str],
    cwd: Path,
    emulator: Emulator | None = None,
    token: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    python: Sequence[str] = (),
) -> Run:
    """Run `python [PYTHON] -m comwit ARGS` in `cwd` against `emulator`; time the whole
    process. `python` goes before `-m comwit` (`-m cProfile -o FILE` profiles the run).

    It runs under GNU time, which reports the peak RSS of that process alone.
    """
    environ = _clean_environ() | {"NO_COLOR": "1"} | dict(env or {})
    if emulator is not None:
        environ |= {"COMWIT_API_URL": emulator.url, "COMWIT_TOKEN": token or emulator.token}
    fd, name = tempfile.mkstemp(prefix="comwit-time-")
    os.close(fd)
    report = Path(name)
    command = [sys.executable, *python, "-m", "comwit", *args]
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [_GNU_TIME, "-f", "%U %S %M", "-o", name, *command],
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_CLI_TIMEOUT_S,
            check=False,
        )
        seconds = time.perf_counter() - start
        user, system, rss_kb = report.read_text().split()[-3:]
    finally:
        report.unlink(missing_ok=True)
    cpu = float(user) + float(system)
    return Run(proc.returncode, seconds, cpu, int(rss_kb) / 1024, proc.stdout, proc.stderr)


def markdown_table(cells: Sequence[Sequence[str]]) -> str:
    """The first row as a header, the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [
        "| "
        + " | ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        + " |"
        for row in cells
    ]
    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([lines[0], rule, *lines[1:]])


def check(run: Run, what: str, *codes: int) -> Run:
    if run.code not in (codes or (0,)):
        tail = "\n".join(run.err.splitlines()[-20:])
        raise SystemExit(f"{what} failed with exit code {run.code}:\n{tail}")
    return run


def _clean_environ() -> dict[str, str]:
    drop = ("FORCE_COLOR", "SOURCE_DATE_EPOCH")
    return {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_") and k not in drop}


def _read_banner(proc: subprocess.Popen[bytes], log: Path) -> Emulator:
    """The URL and token from the `export NAME=value` lines the server prints at start."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while b"export COMWIT_TOKEN=" not in seen or not seen.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"the emulator did not start (exit code {proc.poll()}):\n{tail}")
        seen += chunk
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in seen.decode().splitlines()
        if line.startswith("export ")
    )
    return Emulator(exports["COMWIT_API_URL"], exports["COMWIT_TOKEN"], proc.pid)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
