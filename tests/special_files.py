"""FIFOs that cannot hang a test: the other end is opened for a moment every few seconds, so
code that waits on the FIFO (the bug under test) is let go and fails its test instead."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

LET_GO_SECONDS = 3.0


@contextlib.contextmanager
def fifo_opened_later(path: Path, end: Literal["r", "w"]) -> Iterator[Path]:
    """Make the FIFO `path`; every LET_GO_SECONDS, and when the block ends, open its `end`
    ("w": a writer, which lets a blocked reader go with an empty read; "r": a reader, which
    lets a blocked writer go) without waiting, then close it."""
    os.mkfifo(path)
    done = threading.Event()
    flags = (os.O_WRONLY if end == "w" else os.O_RDONLY) | os.O_NONBLOCK

    def let_go() -> None:
        while True:
            ended = done.wait(LET_GO_SECONDS)
            with contextlib.suppress(OSError):  # ENXIO: a writer's end while nobody reads
                os.close(os.open(path, flags))
            if ended:
                return

    thread = threading.Thread(target=let_go, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()
