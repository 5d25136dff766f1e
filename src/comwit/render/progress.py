"""Progress while applying: bars on a terminal, plain log lines elsewhere (CI logs).

Pack progress arrives from the packing thread; both reporters are safe to call from it.
Every text goes through redaction: the log lines by way of the console, the bars' here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.console import Console as RichConsole
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from comwit.apply.reporter import QuietReporter, Reporter, Transfer
from comwit.console import Console
from comwit.render.describe import format_bytes
from comwit.secret import redact


class LogReporter:
    """Plain lines without control characters: start and end of each transfer, each step."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._clock = clock

    def step(self, app: str, text: str) -> None:
        self._console.info(f"{app}: {text}")

    def transfer(self, app: str, verb: str, total: int) -> Transfer:
        self._console.info(f"{app}: {verb} {format_bytes(total)}")
        return _LoggedTransfer(self._console, self._clock, app, verb)

    def close(self) -> None:
        return None


class _LoggedTransfer:
    def __init__(self, console: Console, clock: Callable[[], float], app: str, verb: str) -> None:
        self._console, self._clock, self._app, self._verb = console, clock, app, verb
        self._start = clock()

    def advance(self, done: int) -> None:
        del done

    def finish(self, size: int) -> None:
        seconds = max(self._clock() - self._start, 1e-6)
        rate = format_bytes(int(size / seconds))
        past = {"packing": "packed", "uploading": "uploaded"}.get(self._verb, self._verb)
        self._console.info(
            f"{self._app}: {past} {format_bytes(size)} in {seconds:.1f} s ({rate}/s)"
        )


class BarsReporter:
    """Live progress bars (bytes, rate, ETA) per app and phase, drawn on stderr."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=RichConsole(file=console.err, no_color=not console.err_color),
            transient=False,
        )
        self._progress.start()

    def step(self, app: str, text: str) -> None:
        self._progress.console.print(redact(f"{app}: {text}"), markup=False, highlight=False)

    def transfer(self, app: str, verb: str, total: int) -> Transfer:
        with self._lock:
            task = self._progress.add_task(redact(f"{app}: {verb}"), total=max(total, 1))
        return _BarTransfer(self._progress, task)

    def close(self) -> None:
        self._progress.stop()


class _BarTransfer:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def finish(self, size: int) -> None:
        self._progress.update(self._task, completed=size, total=max(size, 1))


def make_reporter(console: Console) -> Reporter:
    if console.verbosity < 0:
        return QuietReporter()
    if console.interactive and console.err_color:
        return BarsReporter(console)
    return LogReporter(console)
