"""A cache of file lists by tree digest, on this machine, so a plan can say which files changed.

The ledger stores only digests (it must fit in an env var); the file lists of trees this
machine has digested live in `.comwit/trees/` next to the manifest, newest kept.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from comwit.artifact.entries import Entries, encode
from comwit.artifact.tree import FileEntry, TreeDigest
from comwit.store.files import write_atomically

KEEP = 100
_MAGIC = b"comwit-tree-v2\n"
_SUFFIX = ".tree"


class TreeCache:
    def __init__(self, directory: Path, *, keep: int = KEEP) -> None:
        self._directory = directory
        self._keep = keep

    def load(self, digests: Iterable[str | None]) -> dict[str, tuple[FileEntry, ...]]:
        """The file lists known here for these digests (unknown or unreadable ones left out)."""
        known = {}
        for digest in {d for d in digests if d}:
            files = self._read(digest)
            if files is not None:
                known[digest] = files
        return known

    def save(self, trees: Mapping[str, TreeDigest]) -> None:
        """Remember these trees' file lists; a cache that cannot be written is skipped.

        This run's trees are never pruned (the cache keeps at least as many as it saves),
        and one already known is only marked used: with more apps than `keep`, a run does not
        rewrite the lists the previous run wrote."""
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            for tree in trees.values():
                path = self._path(tree.digest)
                if path.exists():
                    os.utime(path)
                else:
                    _write(path, tree.files)
            self._prune(max(self._keep, len({tree.digest for tree in trees.values()})))
        except OSError:
            return

    def _read(self, digest: str) -> tuple[FileEntry, ...] | None:
        try:
            data = self._path(digest).read_bytes()
            if not data.startswith(_MAGIC):
                return None
            return Entries(data[len(_MAGIC) :]).files()
        except (OSError, ValueError, struct.error):
            return None

    def _path(self, digest: str) -> Path:
        return self._directory / (digest.removeprefix("sha256:") + _SUFFIX)

    def _prune(self, keep: int) -> None:
        # Lists of an older format (.json.gz) are pruned first: they are never read.
        lists = sorted(
            (p for p in self._directory.iterdir() if not p.name.startswith(".")),
            key=lambda p: (p.suffix == _SUFFIX, p.stat().st_mtime_ns),
        )
        for stale in lists[: max(0, len(lists) - keep)]:
            stale.unlink(missing_ok=True)


def _write(path: Path, files: Sequence[FileEntry]) -> None:
    # Binary (see `comwit.artifact.entries`): a 100,000-file list was half a second of
    # CPU as gzipped JSON, a few hundredths of one this way.
    write_atomically(path, _MAGIC + encode(files))
