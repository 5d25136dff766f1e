"""SIGTERM as an exception, for commands that hold files part-written (`comwit pack`'s
.partial archive): a CI runner cancelling a job sends it, and the default action would end
the process where it stands, leaving them behind."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, so what it holds is cleaned up on the
    way out (`cli.main` says so and exits 143). A BaseException, as KeyboardInterrupt is, so
    no `except Exception` takes it for an error."""


def _raise(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises `Terminated` in it (elsewhere,
    or where Python does not own the signal, the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:  # ignored, or someone's own
        yield
        return
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
