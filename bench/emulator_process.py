"""The emulator in a process of its own, for benchmarks that time the real `comwit` CLI.

`running_emulator` starts `comwit emulator serve --port 0`, reads the URL and token it
prints, and stops it (SIGINT, as Ctrl-C would, then SIGKILL) when the block ends, also on
errors and interrupts (comwit.emulator.process does that, for the tests too). `run_comwit`
runs the CLI against it and times the process; `scratch` is the temp dir a benchmark works in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from comwit.emulator.process import serve_process
from comwit.errors import ComwitError

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
    with log.open("wb") as log_file, ExitStack() as stack:
        try:
            served = stack.enter_context(
                serve_process(data, *args, environ=clean_environ(), stderr=log_file)
            )
        except ComwitError as exc:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{exc}:\n{tail}") from None
        yield Emulator(served.url, served.token, served.pid)


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
    environ = clean_environ() | {"NO_COLOR": "1"} | dict(env or {})
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


def clean_environ() -> dict[str, str]:
    """This process's environment without what would change what a bench measures: comwit's
    own settings (COMWIT_*), FORCE_COLOR, SOURCE_DATE_EPOCH and PYTHONDONTWRITEBYTECODE (which
    would leave an editable install's modules without .pyc files, so every timed run would
    compile them again; an installed comwit has them, and an untimed first round writes them)."""
    drop = ("FORCE_COLOR", "SOURCE_DATE_EPOCH", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_") and k not in drop}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
