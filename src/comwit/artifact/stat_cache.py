"""Tree digest, shortcut: each file's sha256 remembered with its lstat, like git's index.

A file whose size, mtime_ns, ctime_ns and inode are as remembered is taken to hold the
same bytes, so an unchanged build dir is confirmed by `lstat` alone. An entry whose mtime
or ctime is too close to the moment its hash was taken is "racy" (the file may have changed
again within the same timestamp tick) and is re-hashed, as git does.

One binary file per build dir, little-endian: a magic line, the time the hashes were taken
and the entry count, then per entry four int64 (size, mtime_ns, ctime_ns, inode), then the
32-byte digests, then the UTF-8 paths joined by NUL. Anything unreadable counts as empty.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from comwit.artifact.walk import Node
from comwit.store.files import write_atomically

_MAGIC: Final = b"comwit-stat-v1\n"
_HEADER: Final = struct.Struct("<qQ")  # hashed_at_ns, count
_FIELDS: Final = 4
_SHA: Final = 32
# Timestamps within this of the hashing time may hide a change made in the same tick:
# coarse kernel clocks lag by milliseconds, some file systems keep 2 s granularity.
RACY_NS: Final = 2_000_000_000


def stat_cache_dir(root: Path) -> Path:
    """Where the stat caches of a manifest's build dirs live: `.comwit/stat/` beside it."""
    return root / ".comwit" / "stat"


class StatCache:
    """The remembered hashes of one build dir's files (see the module docstring)."""

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.clock = clock  # ns since the epoch, as file timestamps are
        self._index: dict[str, int] = {}
        self._stats = array("q")
        self._shas = b""
        self._trusted_before = 0  # stamps at or after this are racy

    @classmethod
    def open(
        cls, directory: Path, build_dir: Path, clock: Callable[[], int] = time.time_ns
    ) -> StatCache:
        """The cache of `build_dir` kept in `directory`, loaded (empty when missing)."""
        cache = cls.blank(directory, build_dir, clock)
        cache._load()
        return cache

    @classmethod
    def blank(
        cls, directory: Path, build_dir: Path, clock: Callable[[], int] = time.time_ns
    ) -> StatCache:
        """The cache of `build_dir`, not read: for packing, which hashes every file anyway."""
        key = hashlib.sha256(os.fsencode(os.path.realpath(build_dir))).hexdigest()[:32]
        return cls(directory / f"{key}.stat", clock)

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, nodes: Sequence[Node]) -> tuple[str | None, ...]:
        """Per node, the file's remembered sha256 (hex) if its lstat is unchanged and not
        racy; None for the others (and for dirs and symlinks). One loop: it runs per file."""
        index, stats, shas, racy = self._index, self._stats, self._shas, self._trusted_before
        known: list[str | None] = []
        for node in nodes:
            i = index.get(node.rel, -1) if node.kind == "file" else -1
            at = i * _FIELDS
            if (
                i < 0
                or stats[at] != node.size
                or stats[at + 1] != node.mtime_ns
                or stats[at + 2] != node.ctime_ns
                or stats[at + 3] != node.ino
                or node.mtime_ns >= racy
                or node.ctime_ns >= racy
            ):
                known.append(None)
            else:
                known.append(shas[i * _SHA : (i + 1) * _SHA].hex())
        return tuple(known)

    def save(self, nodes: Sequence[Node], hashes: Sequence[str | None], hashed_at_ns: int) -> None:
        """Remember these files (a tree's file nodes and their hex digests), replacing
        what was kept; `hashed_at_ns` is a time no later than the first hash was taken.
        A cache that cannot be written is skipped."""
        stats = array("q")
        shas = bytearray()
        names: list[str] = []
        for node, sha in zip(nodes, hashes, strict=True):
            if node.kind != "file" or sha is None:
                continue
            stats.extend((node.size, node.mtime_ns, node.ctime_ns, node.ino))
            shas += bytes.fromhex(sha)
            names.append(node.rel)
        if sys.byteorder == "big":
            stats.byteswap()  # the format is little-endian everywhere
        data = b"".join(
            (
                _MAGIC,
                _HEADER.pack(hashed_at_ns, len(names)),
                stats.tobytes(),
                bytes(shas),
                "\0".join(names).encode(),
            )
        )
        try:
            write_atomically(self.path, data)
        except OSError:
            return

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        try:
            self._parse(data)
        except (ValueError, struct.error, UnicodeDecodeError):
            self._index, self._stats, self._shas = {}, array("q"), b""

    def _parse(self, data: bytes) -> None:
        if not data.startswith(_MAGIC):
            raise ValueError("not a stat cache")
        at = len(_MAGIC)
        hashed_at, count = _HEADER.unpack_from(data, at)
        at += _HEADER.size
        stats_end = at + count * _FIELDS * 8
        shas_end = stats_end + count * _SHA
        if len(data) < shas_end:
            raise ValueError("truncated")
        stats = array("q")
        stats.frombytes(data[at:stats_end])
        if sys.byteorder == "big":
            stats.byteswap()
        names = data[shas_end:].decode().split("\0") if count else []
        if len(names) != count:
            raise ValueError("wrong number of paths")
        self._index = {name: i for i, name in enumerate(names)}
        self._stats = stats
        self._shas = data[stats_end:shas_end]
        self._trusted_before = hashed_at - RACY_NS
