"""Tree digests as values: entries, the canonical encoding, and what differs between two trees.

Pure: `digest` computes these from a build dir, `pack` while packing it. The encoding is
defined in docs/artifacts.md ("Tree digest"); `tree_digest` is its only implementation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import Literal, NamedTuple, overload

from comwit.frozen import frozen

EntryKind = Literal["file", "dir", "symlink"]

DIGEST_PREFIX = "sha256:"
_ENCODING_HEADER = b"comwit-tree-v1\0"


class FileEntry(NamedTuple):
    """One entry of a build dir: a file, a directory or a symlink. A NamedTuple: a tree of
    100,000 files makes as many, and they are cheap to build."""

    path: str  # POSIX, relative to the build dir, no "./" and no trailing "/"
    kind: EntryKind
    size: int = 0  # bytes, for files
    sha256: str | None = None  # hex digest of the content, for files
    executable: bool = False  # for files
    target: str | None = None  # for symlinks


class LazyEntries(Sequence[FileEntry]):
    """Entries made only when first asked for: a tree confirmed unchanged by its stat cache
    has a digest, and a plan that finds no change never needs its file list."""

    def __init__(self, make: Callable[[], tuple[FileEntry, ...]]) -> None:
        self._make = make

    @cached_property
    def _entries(self) -> tuple[FileEntry, ...]:
        return self._make()

    @overload
    def __getitem__(self, index: int) -> FileEntry: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[FileEntry, ...]: ...
    def __getitem__(self, index: int | slice) -> FileEntry | tuple[FileEntry, ...]:
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._entries == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        return f"LazyEntries({self._entries!r})"


@frozen
class TreeDigest:
    digest: str  # "sha256:<64 hex digits>"
    files: Sequence[FileEntry]  # every entry, directories included, in archive order
    total_size: int  # bytes of file content
    warnings: tuple[str, ...]  # secret-looking names that will be uploaded


MAX_PATHS = 1000  # changed paths a plan lists per kind (the counts stay exact)


@frozen
class TreeChanges:
    """What differs between two trees. Counts and bytes are of files and symlinks;
    directories are counted apart, so an added empty directory still shows."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    added_bytes: int = 0  # size of the added files
    changed_bytes: int = 0  # new size of the changed files
    removed_bytes: int = 0  # old size of the removed files
    dirs_added: int = 0
    dirs_removed: int = 0
    # The paths of the files and symlinks counted above, sorted; at most MAX_PATHS of each.
    added_paths: tuple[str, ...] = ()
    changed_paths: tuple[str, ...] = ()
    removed_paths: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.changed or self.removed or self.dirs_added or self.dirs_removed
        )


def make_tree_digest(files: Sequence[FileEntry], warnings: Sequence[str]) -> TreeDigest:
    return TreeDigest(
        digest=tree_digest(files),
        files=tuple(files),
        total_size=sum(f.size for f in files),
        warnings=tuple(warnings),
    )


def tree_digest(files: Iterable[FileEntry]) -> str:
    """sha256 over the canonical encoding: a header, then one NUL-separated record per entry."""
    h = hashlib.sha256(_ENCODING_HEADER)
    for f in files:
        path = f.path.encode()
        if f.kind == "file":
            mode = b"755" if f.executable else b"644"
            h.update(b"f\0%s\0%s\0%s\0" % (mode, (f.sha256 or "").encode(), path))
        elif f.kind == "symlink":
            h.update(b"l\0%s\0%s\0" % ((f.target or "").encode(), path))
        else:
            h.update(b"d\0%s\0" % path)
    return DIGEST_PREFIX + h.hexdigest()


def compare(old: Sequence[FileEntry], new: Sequence[FileEntry]) -> TreeChanges:
    """What changed from `old` to `new` (for example two `TreeDigest.files`)."""
    before = {f.path: f for f in old}
    after = {f.path: f for f in new}
    added = [f for p, f in after.items() if p not in before]
    removed = [f for p, f in before.items() if p not in after]
    changed = [f for p, f in after.items() if p in before and _differs(before[p], f)]
    return TreeChanges(
        added=_count(added, dirs=False),
        changed=len(changed),
        removed=_count(removed, dirs=False),
        added_bytes=sum(f.size for f in added),
        changed_bytes=sum(f.size for f in changed),
        removed_bytes=sum(f.size for f in removed),
        dirs_added=_count(added, dirs=True),
        dirs_removed=_count(removed, dirs=True),
        added_paths=_paths(added),
        changed_paths=_paths(changed),
        removed_paths=_paths(removed),
    )


def _paths(entries: Sequence[FileEntry]) -> tuple[str, ...]:
    """Sorted paths of the files and symlinks, at most MAX_PATHS: plans stay small."""
    return tuple(sorted(f.path for f in entries if f.kind != "dir")[:MAX_PATHS])


def _differs(a: FileEntry, b: FileEntry) -> bool:
    return (a.kind, a.sha256, a.executable, a.target) != (b.kind, b.sha256, b.executable, b.target)


def _count(entries: Sequence[FileEntry], *, dirs: bool) -> int:
    return sum(1 for f in entries if (f.kind == "dir") == dirs)
