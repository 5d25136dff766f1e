"""What a run reads and writes outside itself, typer-free: `main()` builds it before any
command line is read (`comwit pack` can pack before typer is loaded)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from comwit.frozen import frozen

if TYPE_CHECKING:
    import httpx

    from comwit.console import Console


async def _sleep(seconds: float) -> None:
    """asyncio.sleep, without importing asyncio before a command needs it."""
    import asyncio

    await asyncio.sleep(seconds)


@frozen
class Edges:
    """What a run reads and writes outside itself; `main()` takes it so tests can pass their own
    (an environment, string streams, an in-process transport to the emulator)."""

    environ: Mapping[str, str]
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], float] = time.time  # seconds since the epoch
    sleep: Callable[[float], Awaitable[None]] = _sleep  # retries, lease waits, logs --follow

    @classmethod
    def of_process(cls) -> Edges:
        return cls(os.environ, sys.stdin, sys.stdout, sys.stderr)

    def console(self, verbosity: int | None = None) -> Console:
        """The console on these streams and this environment (NORMAL verbosity unless told)."""
        from comwit.console import NORMAL, make_console

        return make_console(
            verbosity=NORMAL if verbosity is None else verbosity,
            out=self.stdout,
            err=self.stderr,
            inp=self.stdin,
            environ=self.environ,
        )
