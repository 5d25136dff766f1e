"""Stops (SIGTERM, SIGINT) as exceptions, for commands that hold files part-written (`comwit
pack`'s .partial archive): a CI runner cancelling a job sends them, and SIGTERM's default
action would end the process where it stands, leaving them behind. Under `terminable`, a
stop that arrives while such a file is made and named, or renamed into place (`held_off`),
is acted on just after, so every file is one its maker knows to remove."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType

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

    def reset(self) -> None:
        self.depth = 0
        self.arrived.clear()


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


_DEFAULTS: dict[signal.Signals, _Handler] = {
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGINT: signal.default_int_handler,
}


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises `Terminated` in it and SIGINT
    `KeyboardInterrupt`, as it does by default, each held off by `held_off`. Elsewhere, or
    for a signal Python does not own as it does by default (ignored, or someone's own
    handler), the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _HELD.reset()
    taken: list[signal.Signals] = []
    try:
        for signum, default in _DEFAULTS.items():
            if signal.getsignal(signum) is default:
                taken.append(signum)  # first: a stop as it is put in place is still undone
                signal.signal(signum, _stop)
        yield
    finally:
        _HELD.depth += 1  # a stop while the defaults come back waits for the last of them
        try:
            for signum in taken:
                if signal.getsignal(signum) is _stop:  # not someone's own, put in since
                    signal.signal(signum, _DEFAULTS[signum])
        finally:
            arrived = _HELD.arrived[:1]
            _HELD.reset()
        for came in arrived:  # with the defaults back: said as the block's own stop
            _raise_for(came)


class held_off:  # named as a function, for it is used as one: `with held_off():`
    """A stop arriving while the block runs in the main thread under `terminable` is raised
    when it ends, not in the middle: for making a file and naming it as one step (a stop
    between the two would leave a file nobody removes). The block must be short: it cannot
    be stopped. A class, not a generator: nothing runs between counting the block in and
    entering it, so the count cannot be left raised."""

    def __init__(self) -> None:
        self._counted = False

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._counted = True
            _HELD.depth += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._counted:
            return
        _HELD.depth -= 1
        if not _HELD.depth and _HELD.arrived:
            signum = _HELD.arrived[0]
            _HELD.arrived.clear()
            _raise_for(signum)
