"""A computation in a forked child, its answer read back through a pipe: how `comwit pack`
validates the manifest while it packs (`comwit.cli.ahead`), out of this process's GIL."""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

ANSWER_SECONDS = 60.0
"""The longest wait for the child's answer once the pack is done (validating a 16 MiB
manifest takes seconds); past it the child is stopped and the pack is done again."""
_MAX_ANSWER = 1 << 24  # the validated excludes come from a manifest of at most 16 MiB


class Forked:
    """`work()`'s bytes, computed in a forked child while this process goes on.

    The child writes nothing but its answer: its stdout and stderr (the descriptors and
    Python's streams) go to /dev/null, it dies on SIGINT or SIGTERM as a plain process does,
    and it leaves with `os._exit` (no atexit handler, no flush of buffers it inherited).
    Any failure there is no answer (None)."""

    def __init__(self, pid: int, reader: int) -> None:
        self._pid = pid
        self._reader = reader
        self._answer: bytes | None = None
        self._done = False
        # The answer may be asked from two threads at once (a pack's writer and its main
        # thread): the second waits for the first's reading, bounded by its timeout.
        self._lock = threading.Lock()

    @classmethod
    def start(cls, work: Callable[[], bytes]) -> Forked | None:
        """The child, started; None where forking is not safe: not Linux, or other threads
        run (a child would inherit their locks in whatever state they hold them)."""
        if sys.platform != "linux" or threading.active_count() > 1:
            return None
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            reader, writer = os.pipe()
        except OSError:  # out of descriptors: no head start, the command goes on without
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(reader)
            os.close(writer)
            return None
        if pid == 0:  # pragma: no cover - the child leaves by os._exit, unmeasured
            _child(reader, writer, work)
        os.close(writer)
        return cls(pid, reader)

    def ready(self) -> bool:
        """Whether the answer (or the child's end) is there to be read: asked, not waited for."""
        if self._done:
            return True
        poller = select.poll()
        poller.register(self._reader, select.POLLIN)
        return bool(poller.poll(0))

    def answer(self, timeout: float = ANSWER_SECONDS) -> bytes | None:
        """The child's answer, waited for at most `timeout` seconds (the first time it is
        asked; after that it is remembered), or None when it failed or did not answer."""
        with self._lock:
            return self._read(timeout)

    def _read(self, timeout: float) -> bytes | None:
        if self._done:
            return self._answer
        self._done = True
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + timeout
        poller = select.poll()  # not select(): a descriptor past 1023 is fine
        poller.register(self._reader, select.POLLIN)
        try:
            while (left := deadline - time.monotonic()) > 0:
                if not poller.poll(max(1, math.ceil(left * 1000))):
                    break
                chunk = os.read(self._reader, 1 << 16)
                if not chunk:
                    _, status = os.waitpid(self._pid, 0)
                    self._pid = 0
                    if os.waitstatus_to_exitcode(status) == 0:
                        self._answer = b"".join(chunks)
                    break
                size += len(chunk)
                if size > _MAX_ANSWER:
                    break
                chunks.append(chunk)
        finally:
            self.close()
        return self._answer

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        self._done = True
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1
        if self._pid:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self._pid, 0)
            self._pid = 0


def _child(reader: int, writer: int, work: Callable[[], bytes]) -> None:  # pragma: no cover
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(reader)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.stdout = sys.stderr = os.fdopen(null, "w")
        data = memoryview(work())
        while data:
            data = data[os.write(writer, data) :]
        code = 0
    except BaseException:  # any failure is "no answer": the parent packs again
        pass
    finally:
        os._exit(code)


@contextlib.contextmanager
def forked(work: Callable[[], bytes]) -> Iterator[Forked | None]:
    """`Forked.start(work)` for the block, the child stopped and reaped after it."""
    child = Forked.start(work)
    try:
        yield child
    finally:
        if child is not None:
            child.close()
