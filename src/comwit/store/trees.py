"""A cache of file lists by tree digest, on this machine, so a plan can say which files changed.

The ledger stores only digests (it must fit in an env var); the file lists of trees this
machine has digested live in `.comwit/trees/` next to the manifest, newest kept.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from comwit.artifact.tree import FileEntry, TreeDigest
from comwit.store.files import write_atomically

KEEP = 100


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
            rows = json.loads(gzip.decompress(self._path(digest).read_bytes()))
            return tuple(FileEntry(*row) for row in rows)
        except (OSError, ValueError, TypeError, EOFError):
            return None

    def _path(self, digest: str) -> Path:
        return self._directory / (digest.removeprefix("sha256:") + ".json.gz")

    def _prune(self, keep: int) -> None:
        entries = sorted(self._directory.glob("*.json.gz"), key=lambda p: p.stat().st_mtime_ns)
        for stale in entries[: max(0, len(entries) - keep)]:
            stale.unlink(missing_ok=True)


def _write(path: Path, files: Sequence[FileEntry]) -> None:
    rows = [[f.path, f.kind, f.size, f.sha256, f.executable, f.target] for f in files]
    data = json.dumps(rows, separators=(",", ":")).encode()
    # Level 1: a 100,000-file list compresses in a tenth of the time of level 9, a bit larger.
    write_atomically(path, gzip.compress(data, compresslevel=1, mtime=0))
