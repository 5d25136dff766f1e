"""Tree digest, shortcut: each file's sha256 remembered with its lstat, like git's index.

A file whose size, mtime_ns, ctime_ns and inode are as remembered is taken to hold the
same bytes, so an unchanged build dir is confirmed by `lstat` alone. An entry whose mtime
or ctime is too close to the moment its hash was taken is "racy" (the file may have changed
again within the same timestamp tick) and is re-hashed, as git does. The cache also keeps
the whole tree (its digest, entries and warnings) and each directory's own stamps: when
every entry is as remembered (see `confirm`), `StatCache.confirm` gives the tree without
a walk.

One binary file per build dir, native byte order (it never leaves the machine: inodes and
ctimes would not match elsewhere): a magic line, a header, length-prefixed sections (see
`_SECTIONS`), a checksum. Anything unreadable, damaged, inconsistent or implausibly large
counts as empty, and the next digest rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import struct
import time
from array import array
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Final

from comwit.artifact import entries
from comwit.artifact.confirm import STAMPS, unchanged
from comwit.artifact.entries import Entries, encode
from comwit.artifact.ignore import read_ignore_file, rules_key
from comwit.artifact.tree import DIGEST_PREFIX, LazyEntries, TreeDigest
from comwit.artifact.walk import Node, Tree, check_root, dir_stamps
from comwit.errors import ArtifactError
from comwit.store.files import write_atomically

_MAGIC: Final = b"comwit-stat-v3\n"
# hashed_at_ns, rules key, the build dir's own mtime_ns, ctime_ns and inode
_HEADER: Final = struct.Struct("=q32s3q")
_LENGTH: Final = struct.Struct("=Q")
# In this order after the header, each as a length and its bytes.
_SECTIONS: Final = (
    "digest",  # ASCII "sha256:..."
    "warnings",  # JSON list of strings
    "entries",  # the tree's entries (`entries.encode`)
    "stamps",  # per entry three int64: mtime_ns, ctime_ns, inode (zeros for symlinks)
)
_CHECKSUM: Final = 16  # bytes of sha256 over all before it, at the end of the file
_STAMPS_OF: Final = operator.attrgetter("mtime_ns", "ctime_ns", "ino")
_FILE_CODES: Final = (entries.FILE, entries.EXECUTABLE)
MAX_BYTES: Final = 1 << 30  # a larger cache file is not read: about 6 million entries
# Timestamps within this of the hashing time may hide a change made in the same tick:
# coarse kernel clocks lag by milliseconds, some file systems keep 2 s granularity.
RACY_NS: Final = 2_000_000_000


def stat_cache_dir(root: Path) -> Path:
    """Where the stat caches of a manifest's build dirs live: `.comwit/stat/` beside it."""
    return root / ".comwit" / "stat"


class StatCache:
    """The remembered tree and hashes of one build dir (see the module docstring)."""

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.clock = clock  # ns since the epoch, as file timestamps are
        self._sections: dict[str, bytes] = {}
        self._entries = Entries(encode(()))
        self._stamps = array("q")
        self._total = 0
        self._root_stamps = (0, 0, 0)
        self._rules = b""
        self._trusted_before = 0  # stamps at or after this are racy
        self._index: dict[str, int] | None = None  # file path -> entry, made when first needed

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
        """The number of files it remembers."""
        codes = self._entries.codes
        return codes.count(entries.FILE) + codes.count(entries.EXECUTABLE)

    def confirm(self, build_dir: Path, exclude: Sequence[str]) -> TreeDigest | None:
        """The remembered tree, when `build_dir` is still exactly that tree under the same
        exclude rules (every entry as remembered, none racy); else None. Reads no file."""
        if not self._sections or self._racy():
            return None
        try:
            root = check_root(build_dir)
            rules = rules_key(exclude, read_ignore_file(Path(root)))
            if rules != self._rules or dir_stamps(root) != self._root_stamps:
                return None
        except (ArtifactError, OSError):
            return None
        listed = self._entries
        links = _links(listed)
        if not unchanged(root, listed.paths(), listed.codes, listed.sizes, self._stamps, links):
            return None
        digest = self._sections["digest"].decode()
        warnings = tuple(json.loads(self._sections["warnings"]))
        return TreeDigest(digest, LazyEntries(listed.files), self._total, warnings)

    def _racy(self) -> bool:
        """Whether a file or directory was stamped too close to the time of the hashes."""
        stamps, trusted_before = self._stamps, self._trusted_before
        newest = max(max(stamps[0::STAMPS], default=0), max(stamps[1::STAMPS], default=0))
        return max(newest, *self._root_stamps[:2]) >= trusted_before

    def lookup(self, nodes: Sequence[Node]) -> tuple[str | None, ...]:
        """Per node, what `known` says of it, in one loop (it runs per file of a walk: the
        index, stamps and racy bound are fetched once, not per node)."""
        index, racy = self._files(), self._trusted_before
        sizes, stamps, sha = self._entries.sizes, self._stamps, self._entries.sha
        found: list[str | None] = []
        for node in nodes:
            i = index.get(node.rel, -1) if node.kind == "file" else -1
            at = i * STAMPS
            if (
                i < 0
                or sizes[i] != node.size
                or stamps[at] != node.mtime_ns
                or stamps[at + 1] != node.ctime_ns
                or stamps[at + 2] != node.ino
                or node.mtime_ns >= racy
                or node.ctime_ns >= racy
            ):
                found.append(None)
            else:
                found.append(sha(i))
        return tuple(found)

    def known(self, node: Node) -> str | None:
        """The file's remembered sha256 (hex) if its lstat is unchanged and not racy; else
        None (always for dirs and symlinks)."""
        if node.kind != "file":
            return None
        i = self._files().get(node.rel, -1)
        at = i * STAMPS
        stamps, racy = self._stamps, self._trusted_before
        if (
            i < 0
            or self._entries.sizes[i] != node.size
            or stamps[at] != node.mtime_ns
            or stamps[at + 1] != node.ctime_ns
            or stamps[at + 2] != node.ino
            or node.mtime_ns >= racy
            or node.ctime_ns >= racy
        ):
            return None
        return self._entries.sha(i)

    def save(self, tree: Tree, digest: TreeDigest, hashed_at_ns: int) -> None:
        """Remember this walked tree and its digest (whose entries carry the hashes),
        replacing what was kept; `hashed_at_ns` is a time no later than the first hash was
        taken. A cache that cannot be written is skipped."""
        if any(f.sha256 is None for f in digest.files if f.kind == "file"):
            return  # not hashed: nothing to vouch for them
        try:
            stamps = array("q", chain.from_iterable(map(_STAMPS_OF, tree.nodes)))
            header = _HEADER.pack(hashed_at_ns, tree.rules, *tree.root_stamps)
        except (OverflowError, struct.error):  # a time past 2262 (`touch -d 2300-01-01`):
            return  # such a tree is not remembered, only hashed each time
        if self._holds(tree, digest, stamps):
            return  # it would write what it read: spare the rewrite
        sections = {
            "digest": digest.digest.encode(),
            "warnings": json.dumps(list(digest.warnings)).encode(),
            "entries": encode(digest.files),
            "stamps": stamps.tobytes(),
        }
        parts = [_MAGIC, header]
        for name in _SECTIONS:
            parts += [_LENGTH.pack(len(sections[name])), sections[name]]
        data = b"".join(parts)
        try:
            write_atomically(self.path, data + _checksum(data))
        except OSError:
            return

    def _holds(self, tree: Tree, digest: TreeDigest, stamps: array[int]) -> bool:
        """Whether the file already says all this: the same digest (so the same entries and
        hashes), stamps, rules and warnings. Only its hashing time would be newer, which
        matters only for racy entries, so a cache with any is rewritten."""
        return (
            bool(self._sections)
            and not self._racy()
            and stamps == self._stamps
            and (tree.rules, tree.root_stamps) == (self._rules, self._root_stamps)
            and self._sections["digest"] == digest.digest.encode()
            and json.loads(self._sections["warnings"]) == list(digest.warnings)
        )

    def _load(self) -> None:
        try:
            with self.path.open("rb") as file:
                if os.fstat(file.fileno()).st_size > MAX_BYTES:
                    return
                data = file.read()
        except OSError:
            return
        try:
            self._parse(data)
        except (ValueError, struct.error, UnicodeDecodeError):
            self._sections = {}

    def _parse(self, data: bytes) -> None:
        view = memoryview(data)  # the sections are read in place, not copied
        if not data.startswith(_MAGIC) or _checksum(view[:-_CHECKSUM]) != view[-_CHECKSUM:]:
            raise ValueError("not a stat cache, or a damaged one")
        at = len(_MAGIC)
        hashed_at, rules, *root_stamps = _HEADER.unpack_from(view, at)
        at += _HEADER.size
        sections = {}
        for name in _SECTIONS:
            (length,) = _LENGTH.unpack_from(view, at)
            at += _LENGTH.size
            if at + length > len(view) - _CHECKSUM:
                raise ValueError("truncated")
            sections[name] = view[at : at + length]
            at += length
        if at != len(view) - _CHECKSUM:
            raise ValueError("trailing bytes")
        listed = Entries(sections.pop("entries"))
        stamps = array("q")
        stamps.frombytes(sections.pop("stamps"))
        if len(stamps) != len(listed) * STAMPS:
            raise ValueError("wrong number of stamps")
        small = {name: bytes(section) for name, section in sections.items()}
        _check(small)
        self._sections, self._entries, self._stamps = small, listed, stamps
        self._total, self._rules = sum(listed.sizes), rules
        self._root_stamps = (root_stamps[0], root_stamps[1], root_stamps[2])
        self._trusted_before = hashed_at - RACY_NS

    def _files(self) -> dict[str, int]:
        """File path -> its entry number (directories and symlinks left out)."""
        if self._index is None:
            paths, codes = self._entries.paths(), self._entries.codes
            self._index = {
                path: i
                for i, (path, code) in enumerate(zip(paths, codes, strict=True))
                if code in _FILE_CODES
            }
        return self._index


def _links(listed: Entries) -> dict[int, str]:
    """Entry number -> target of each symlink; a scan per symlink, none per entry."""
    codes, targets = listed.codes, iter(listed.targets())
    found: dict[int, str] = {}
    i = codes.find(entries.SYMLINK)
    while i >= 0:
        found[i] = next(targets)
        i = codes.find(entries.SYMLINK, i + 1)
    return found


def _checksum(data: bytes | memoryview) -> bytes:
    return hashlib.sha256(data).digest()[:_CHECKSUM]


def _check(sections: dict[str, bytes]) -> None:
    """ValueError unless the sections hold what they should."""
    if not sections["digest"].decode().startswith(DIGEST_PREFIX):
        raise ValueError("not a tree digest")
    warnings = json.loads(sections["warnings"])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ValueError("wrong warnings")
