"""The emulator as a process of its own (`comwit emulator serve --port 0`), for the tests and
benchmarks that run the CLI beside it: started, its URL and token read from the lines it
prints, and always stopped (SIGINT as Ctrl-C would, then SIGKILL). Nothing here waits forever.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from comwit.errors import ComwitError
from comwit.frozen import frozen

START_SECONDS = 30.0  # `comwit emulator serve` prints its URL within this
STOP_SECONDS = 10.0  # and stops within this after SIGINT, else it is killed


@frozen
class Served:
    """`comwit emulator serve` running as a process of its own."""

    url: str
    token: str  # every scope; a member of the --project given, if any
    pid: int


@contextmanager
def serve_process(
    data: Path,
    *args: str,
    environ: Mapping[str, str],
    stderr: int | IO[bytes] = subprocess.DEVNULL,
) -> Iterator[Served]:
    """`comwit emulator serve --port 0 --data DATA ARGS` on loopback, with `environ`; stopped
    when the block ends, also on errors. One that has not printed its URL within
    START_SECONDS is a ComwitError naming its exit code."""
    command = [sys.executable, "-m", "comwit", "emulator", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--data", str(data), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        exports = read_exports(proc)
        yield Served(exports["COMWIT_API_URL"], exports["COMWIT_TOKEN"], proc.pid)
    finally:
        _stop(proc)


def read_exports(proc: subprocess.Popen[bytes], seconds: float = START_SECONDS) -> dict[str, str]:
    """The `export NAME=value` lines the server prints once it listens, within `seconds`."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + seconds
    while b"export COMWIT_TOKEN=" not in seen or not seen.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready = left > 0 and select.select([fd], [], [], left)[0]
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            why = f"exit code {_exit_code(proc)}" if ready else f"no URL within {seconds:g} s"
            raise ComwitError(f"the emulator did not start ({why})")
        seen += chunk
    lines = seen.decode().splitlines()
    exports = [line.removeprefix("export ") for line in lines if line.startswith("export ")]
    return {name: value for name, _, value in (line.partition("=") for line in exports)}


def _exit_code(proc: subprocess.Popen[bytes]) -> int | None:
    """The exit code of a server whose output ended (None: it still runs)."""
    try:
        return proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, as Ctrl-C would; SIGKILL when it has not stopped within STOP_SECONDS."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_SECONDS)
    if proc.stdout is not None:
        proc.stdout.close()
