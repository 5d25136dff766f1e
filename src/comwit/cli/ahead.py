"""`comwit pack`'s head start: pack on the manifest's word while a child process checks it.

A pack's start-up is serial: the interpreter, typer, then pydantic and the manifest's
models (0.1-0.2 s of one core), and only then the pack, which keeps both cores busy. Here
the pack starts on what the raw TOML says (`comwit.manifest.peek`), while a forked child
validates the manifest on the other core, out of this process's GIL. The archive replaces
`-o FILE` (and the stat cache learns the tree) only once the child has answered that the
validated app has the same build dir and excludes; on any other answer, or none, the
archive is dropped and the command packs as it always did, so every message and every byte
stay those of the validated manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from comwit.artifact.pack import PackResult, pack_if
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.errors import ComwitError
from comwit.manifest.peek import BuildGuess, guess_build

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

    def answer(self, timeout: float = ANSWER_SECONDS) -> bytes | None:
        """The child's answer, waited for at most `timeout` seconds (the first time it is
        asked; after that it is remembered), or None when it failed or did not answer."""
        if self._done:
            return self._answer
        self._done = True
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([self._reader], [], [], left)
                if not ready:
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


def answer_of(root: Path, build_dir: Path, exclude: tuple[str, ...]) -> bytes:
    """How the child says which build dir and excludes the validated manifest gives."""
    return json.dumps([str(root), str(build_dir), list(exclude)]).encode()


def pack_ahead(
    manifest: Path,
    app: str,
    env: str | None,
    out: Path,
    level: int,
    validated: Callable[[], bytes],
) -> PackResult | None:
    """The pack of `app` into `out` done on the manifest's unvalidated word while `validated`
    (the `answer_of` the validated manifest) runs in a child; None when it cannot be kept
    (or was not tried): then the caller validates and packs as usual."""
    guess = guess_build(manifest, app, env)
    if guess is None:
        return None
    with _forked(validated) as child:
        if child is None:
            return None
        return _pack_guessed(guess, out, level, lambda: _agrees(child, guess))


@contextlib.contextmanager
def _forked(work: Callable[[], bytes]) -> Iterator[Forked | None]:
    child = Forked.start(work)
    try:
        yield child
    finally:
        if child is not None:
            child.close()


def _agrees(child: Forked, guess: BuildGuess) -> bool:
    return child.answer() == answer_of(guess.root, guess.build_dir, guess.exclude)


def _pack_guessed(
    guess: BuildGuess, out: Path, level: int, agrees: Callable[[], bool]
) -> PackResult | None:
    cache = StatCache.open(stat_cache_dir(guess.root), guess.build_dir)
    try:
        return pack_if(
            guess.build_dir, out, agrees, exclude=guess.exclude, level=level, cache=cache
        )
    except ComwitError:
        if agrees():  # the validated manifest packs the same: its pack fails the same way
            raise
        return None
