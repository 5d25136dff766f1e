"""The terminal while apply runs: a confirmation prompt that does not block the event loop
(so Ctrl-C ends it at once), and Ctrl-C / SIGTERM turned into a clean stop of the executor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import TextIO

from comwit.apply.stop import Stop
from comwit.console import Console


async def ask(question: str, console: Console) -> str:
    """Print `question` on stderr and read one line of the console's input, without blocking
    the loop (Ctrl-C while it waits ends apply at once). The cursor is left at the start of
    a line: what comes next (an error after Ctrl-C or Ctrl-D) is not written after the
    question, as the terminal echoes no line break for those."""
    console.err.write(question)
    console.err.flush()
    try:
        line, newline, _ = (await _read(console)).partition("\n")
    except (asyncio.CancelledError, KeyboardInterrupt):
        _end_line(console)
        raise
    if not newline:  # the input ended before a line break
        _end_line(console)
    return line


def _end_line(console: Console) -> None:
    console.err.write("\n")
    console.err.flush()


async def _read(console: Console) -> str:
    """What was typed, through its first line break (none: the input ended first)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()
    try:
        fd = console.inp.fileno()
        loop.add_reader(fd, _read_line, fd, answer, bytearray())
    except (OSError, ValueError, NotImplementedError):  # not a pollable stream: read in a thread
        reader = threading.Thread(
            target=_read_blocking, args=(console.inp, loop, answer), daemon=True
        )
        reader.start()
        return await answer
    try:
        return await answer
    finally:
        loop.remove_reader(fd)


def _read_line(fd: int, answer: asyncio.Future[str], got: bytearray) -> None:
    chunk = os.read(fd, 1024)
    got += chunk
    if (not chunk or b"\n" in got) and not answer.done():
        answer.set_result(got.decode(errors="replace"))


def _read_blocking(
    stream: TextIO, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[str]
) -> None:
    line = stream.readline()

    def deliver() -> None:
        if not answer.done():
            answer.set_result(line)

    with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for the answer
        loop.call_soon_threadsafe(deliver)


@contextlib.contextmanager
def catch_signals(stop: Stop, console: Console) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask `stop` to stop (a second one: at once)."""
    loop = asyncio.get_running_loop()

    def handle(signum: int) -> None:
        if stop.requested:
            console.warn("stopping now: cancelling the calls in flight")
        else:
            name = signal.Signals(signum).name
            console.warn(
                f"{name}: stopping; no new change starts, the ones in flight get "
                f"{stop.grace:.0f} s to finish (press Ctrl-C again to stop now)"
            )
        stop.request(signum)

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handle, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
