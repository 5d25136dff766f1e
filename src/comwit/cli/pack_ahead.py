"""Packing ahead of validation: `comwit pack` starts on what the raw manifest says while the
main thread validates it, and keeps the archive only if the validated app says the same."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from comwit.artifact.pack import PackResult, StagedPack, resolve_mtime, stage_pack
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.errors import ArtifactError
from comwit.manifest.peek import BuildDir

_POLL_SECONDS = 0.5  # how often a wait on the packing thread checks that it still runs


class PackInputs(NamedTuple):
    """Everything a pack's bytes and side effects depend on. A NamedTuple: it is made on
    the way to packing, in a fifth of a dataclass's time."""

    build: BuildDir  # build dir, exclude patterns, and the root whose stat cache it uses
    out: Path
    level: int
    mtime: int | None  # None: SOURCE_DATE_EPOCH is unusable (the pack reports it)

    @classmethod
    def of(cls, build: BuildDir, out: Path, level: int) -> PackInputs:
        try:
            mtime: int | None = resolve_mtime(None)
        except ArtifactError:
            mtime = None
        return cls(build, out, level, mtime)


class PackAhead:
    """A pack started from the manifest's raw TOML (`comwit.manifest.peek`) on a thread.

    Importing pydantic and building the manifest's models is about half of `comwit pack`'s
    start-up, spent on one core while the other waits; packing needs only the build dir and
    exclude patterns, which the TOML already says. So the pack starts first, validation runs
    meanwhile, and `take` keeps the archive only if the validated inputs are the very same;
    otherwise, and on any way out of the `with` block (an error, Ctrl-C), the pack is
    cancelled and leaves nothing: no archive, no partial file, no stat cache saved. For file
    output only: what went to stdout cannot be taken back.
    """

    def __init__(self, inputs: PackInputs | None, debug: Callable[[str], None]) -> None:
        self._inputs = inputs
        self._debug = debug
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._staged: StagedPack | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, inputs: PackInputs | None, debug: Callable[[str], None]) -> PackAhead:
        """Start packing `inputs` on a thread; None (nothing to go on): do nothing.
        `debug` is told what happens to the pack."""
        ahead = cls(None if inputs is None or inputs.mtime is None else inputs, debug)
        if ahead._inputs is None:
            ahead._debug("not packing ahead of validation: the raw manifest is not plain enough")
            return ahead
        thread = threading.Thread(
            target=ahead._pack, args=(ahead._inputs,), name="comwit-pack-ahead", daemon=True
        )
        thread.start()
        ahead._thread = thread
        ahead._debug("packing ahead of validation")
        return ahead

    def __enter__(self) -> PackAhead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def take(self, validated: PackInputs) -> PackResult | None:
        """The archive packed ahead, now at its place, if it is the pack of `validated`; else
        None, and it is gone. What the pack ran into is raised as a pack raises it."""
        if self._thread is None:
            return None
        if validated != self._inputs:
            self._debug("discarded the archive packed ahead: the validated app differs")
            self._stop()
            return None
        self._wait()
        staged, self._staged = self._staged, None
        if self._error is not None:
            raise self._error
        if staged is None:  # the thread ended without an answer: pack as usual
            return None
        self._debug("kept the archive packed ahead of validation")
        return staged.commit()

    def _pack(self, inputs: PackInputs) -> None:
        """The thread: stage the archive; `take` commits it or `_stop` discards it."""
        try:
            build = inputs.build
            cache = StatCache.open(stat_cache_dir(build.root), build.build_dir)
            self._staged = stage_pack(
                build.build_dir,
                inputs.out,
                exclude=build.exclude,
                level=inputs.level,
                mtime=inputs.mtime,
                cache=cache,
                cancel=self._cancel,
            )
        except BaseException as exc:  # raised on the main thread, if the pack is wanted
            self._error = exc
        finally:
            self._done.set()

    def _wait(self) -> None:
        """Until the thread is done: polled, as a thread that died never says so."""
        thread = self._thread
        while thread is not None and not self._done.wait(_POLL_SECONDS):
            if not thread.is_alive():
                return

    def _stop(self) -> None:
        self._cancel.set()
        self._wait()
        staged, self._staged = self._staged, None
        if staged is not None:
            staged.discard()
