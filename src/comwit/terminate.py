"""Stops (SIGTERM, SIGINT) as exceptions, for commands that hold files part-written (`comwit
pack`'s .partial archive): a CI runner cancelling a job sends them, and SIGTERM's default
action would end the process where it stands, leaving them behind. A stop that arrives
while such a file is being made and recorded (`held_off`) is acted on just after, so the
file is always one its maker knows to remove."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

_Handler = Callable[[int, FrameType | None], object] | signal.Handlers


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, so what it holds is cleaned up on the
    way out (`cli.main` says so and exits 143). A BaseException, as KeyboardInterrupt is, so
    no `except Exception` takes it for an error."""


class _Held:
    """The main thread's `held_off` blocks: how deep it is in them, the stops that came."""

    def __init__(self) -> None:
        self.depth = 0
        self.arrived: list[int] = []


_HELD = _Held()


def _stop(signum: int, frame: FrameType | None) -> None:
    if _HELD.depth:
        _HELD.arrived.append(signum)
        return
    _raise_for(signum)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises `Terminated` in it and SIGINT
    `KeyboardInterrupt`, as it does by default, each held off by `held_off`. Elsewhere, or
    for a signal Python does not own as it does by default (ignored, or someone's own
    handler), the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults: dict[signal.Signals, _Handler] = {
        signal.SIGTERM: signal.SIG_DFL,
        signal.SIGINT: signal.default_int_handler,
    }
    taken = [signum for signum, default in defaults.items() if signal.getsignal(signum) is default]
    for signum in taken:
        signal.signal(signum, _stop)
    try:
        yield
    finally:
        for signum in taken:
            signal.signal(signum, defaults[signum])


@contextlib.contextmanager
def held_off() -> Iterator[None]:
    """A stop arriving while the block runs in the main thread is raised when it ends, not
    in the middle: for making a file and recording its name as one step (a stop between the
    two would leave a file nobody removes). The block must be short: it cannot be stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _HELD.depth += 1
    try:
        yield
    finally:
        _HELD.depth -= 1
        if not _HELD.depth and _HELD.arrived:
            signum = _HELD.arrived[0]
            _HELD.arrived.clear()
            _raise_for(signum)
