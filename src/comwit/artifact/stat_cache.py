"""Tree digest, shortcut: each file's sha256 remembered with its lstat, like git's index.

A file whose size, mtime_ns, ctime_ns and inode are as remembered is taken to hold the
same bytes, so an unchanged build dir is confirmed by `lstat` alone. An entry whose mtime
or ctime is too close to the moment its hash was taken is "racy" (the file may have changed
again within the same timestamp tick) and is re-hashed, as git does. The cache also keeps
the whole tree (its digest, entries and warnings) and a fingerprint per directory (see
`fingerprint`): when every directory still matches, `confirm` gives the tree without
making an object per entry.

One binary file per build dir, native byte order (it never leaves the machine: inodes and
ctimes would not match elsewhere): a magic line, a header, then length-prefixed sections
(see `_SECTIONS`). Anything unreadable, inconsistent or implausibly large counts as empty,
and the next digest rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from comwit.artifact import fingerprint
from comwit.artifact.ignore import read_ignore_file, rules_key
from comwit.artifact.tree import DIGEST_PREFIX, FileEntry, LazyEntries, TreeDigest
from comwit.artifact.walk import Node, Tree, check_root
from comwit.errors import ArtifactError
from comwit.store.files import write_atomically

_MAGIC: Final = b"comwit-stat-v2\n"
# hashed_at_ns, entries, directories, total file bytes, rules key
_HEADER: Final = struct.Struct("=qQQQ32s")
_LENGTH: Final = struct.Struct("=Q")
# In this order after the header, each as a length and its bytes.
_SECTIONS: Final = (
    "digest",  # ASCII "sha256:..."
    "warnings",  # JSON list of strings
    "excluded",  # JSON list of [path, is_dir]
    "dirs",  # directory paths, UTF-8, NUL-separated ("" for the root first)
    "prints",  # one fingerprint per directory
    "stats",  # per entry five int64: kind code, size, mtime_ns, ctime_ns, inode
    "shas",  # per entry 32 bytes (zeros for directories and symlinks)
    "paths",  # entry paths, UTF-8, NUL-separated, in archive order
    "targets",  # symlink targets, UTF-8, NUL-separated, in the order of the symlinks
)
_FIELDS: Final = 5
_SHA: Final = 32
_KINDS: Final = {1: "dir", 2: "file", 3: "file", 4: "symlink"}
_KIND_CODES: Final = {"dir": 1, "file": 2, "symlink": 4}
_EXECUTABLE_FILE: Final = 3
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
        self._count = 0
        self._file_count = 0
        self._dirs = 0
        self._total = 0
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
        return self._file_count

    def confirm(self, build_dir: Path, exclude: Sequence[str]) -> TreeDigest | None:
        """The remembered tree, when `build_dir` is still exactly that tree under the same
        exclude rules (every directory fingerprint matches); else None. Reads no file."""
        if not self._sections:
            return None
        try:
            root = check_root(build_dir)
            rules = rules_key(exclude, read_ignore_file(Path(root)))
        except ArtifactError:
            return None
        if rules != self._rules:
            return None
        dirs = self._sections["dirs"].decode().split("\0")
        prints = self._sections["prints"]
        size = fingerprint.SIZE
        each = [prints[i : i + size] for i in range(0, len(prints), size)]
        if not fingerprint.unchanged(root, dirs, each, self._left_out()):
            return None
        digest = self._sections["digest"].decode()
        warnings = tuple(json.loads(self._sections["warnings"]))
        return TreeDigest(digest, LazyEntries(self._entries), self._total, warnings)

    def lookup(self, nodes: Sequence[Node]) -> tuple[str | None, ...]:
        """Per node, the file's remembered sha256 (hex) if its lstat is unchanged and not
        racy; None for the others (and for dirs and symlinks). One loop: it runs per file."""
        index, racy = self._files(), self._trusted_before
        stats, shas = self._stats(), self._sections.get("shas", b"")
        known: list[str | None] = []
        for node in nodes:
            i = index.get(node.rel, -1) if node.kind == "file" else -1
            at = i * _FIELDS
            if (
                i < 0
                or stats[at + 1] != node.size
                or stats[at + 2] != node.mtime_ns
                or stats[at + 3] != node.ctime_ns
                or stats[at + 4] != node.ino
                or node.mtime_ns >= racy
                or node.ctime_ns >= racy
            ):
                known.append(None)
            else:
                known.append(shas[i * _SHA : (i + 1) * _SHA].hex())
        return tuple(known)

    def save(self, tree: Tree, digest: TreeDigest, hashed_at_ns: int) -> None:
        """Remember this walked tree and its digest (whose entries carry the hashes),
        replacing what was kept; `hashed_at_ns` is a time no later than the first hash was
        taken. A cache that cannot be written is skipped."""
        stats = array("q")
        shas = bytearray()
        targets = []
        for node, entry in zip(tree.nodes, digest.files, strict=True):
            if node.kind == "file":
                if entry.sha256 is None:
                    return  # not hashed: nothing to vouch for it
                code = _EXECUTABLE_FILE if node.executable else _KIND_CODES["file"]
                stats.extend((code, node.size, node.mtime_ns, node.ctime_ns, node.ino))
                shas += bytes.fromhex(entry.sha256)
            else:
                stats.extend((_KIND_CODES[node.kind], 0, 0, 0, 0))
                shas += bytes(_SHA)
                if node.kind == "symlink":
                    targets.append(node.target)
        trusted_before = hashed_at_ns - RACY_NS
        dirs, prints = fingerprint.fingerprints(tree.nodes, tree.excluded, trusted_before)
        sections = {
            "digest": digest.digest.encode(),
            "warnings": json.dumps(list(digest.warnings)).encode(),
            "excluded": json.dumps([list(e) for e in tree.excluded]).encode(),
            "dirs": "\0".join(dirs).encode(),
            "prints": b"".join(prints),
            "stats": stats.tobytes(),
            "shas": bytes(shas),
            "paths": "\0".join(node.rel for node in tree.nodes).encode(),
            "targets": "\0".join(targets).encode(),
        }
        header = _HEADER.pack(
            hashed_at_ns, len(tree.nodes), len(dirs), digest.total_size, tree.rules
        )
        parts = [_MAGIC, header]
        for name in _SECTIONS:
            parts += [_LENGTH.pack(len(sections[name])), sections[name]]
        try:
            write_atomically(self.path, b"".join(parts))
        except OSError:
            return

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
        except (ValueError, struct.error, UnicodeDecodeError, KeyError):
            self._sections, self._file_count = {}, 0

    def _parse(self, data: bytes) -> None:
        if not data.startswith(_MAGIC):
            raise ValueError("not a stat cache")
        at = len(_MAGIC)
        hashed_at, count, dirs, total, rules = _HEADER.unpack_from(data, at)
        at += _HEADER.size
        sections = {}
        for name in _SECTIONS:
            (length,) = _LENGTH.unpack_from(data, at)
            at += _LENGTH.size
            if at + length > len(data):
                raise ValueError("truncated")
            sections[name] = data[at : at + length]
            at += length
        if at != len(data):
            raise ValueError("trailing bytes")
        files = _check(sections, count, dirs)
        self._sections, self._file_count = sections, files
        self._count, self._dirs, self._total, self._rules = count, dirs, total, rules
        self._trusted_before = hashed_at - RACY_NS

    def _stats(self) -> array[int]:
        stats = array("q")
        stats.frombytes(self._sections.get("stats", b""))
        return stats

    def _files(self) -> dict[str, int]:
        """File path -> its entry number (directories and symlinks left out)."""
        if self._index is None:
            paths = self._paths()
            codes = self._stats()[::_FIELDS]
            self._index = {
                path: i
                for i, (path, code) in enumerate(zip(paths, codes, strict=True))
                if code in (2, 3)
            }
        return self._index

    def _paths(self) -> list[str]:
        return self._sections["paths"].decode().split("\0") if self._count else []

    def _left_out(self) -> dict[str, frozenset[str]]:
        """Per directory, the names of the entries the exclude rules left out."""
        by_dir: dict[str, set[str]] = {}
        for rel, _ in json.loads(self._sections["excluded"]):
            parent, _, name = str(rel).rpartition("/")
            by_dir.setdefault(parent, set()).add(name)
        return {parent: frozenset(names) for parent, names in by_dir.items()}

    def _entries(self) -> tuple[FileEntry, ...]:
        """The remembered tree's entries, as its digest listed them."""
        stats, shas = self._stats(), self._sections["shas"]
        targets = iter(self._sections["targets"].decode().split("\0"))
        entries = []
        for i, path in enumerate(self._paths()):
            code, size = stats[i * _FIELDS], stats[i * _FIELDS + 1]
            kind = _KINDS[code]
            if kind == "file":
                sha = shas[i * _SHA : (i + 1) * _SHA].hex()
                entries.append(FileEntry(path, "file", size, sha, code == _EXECUTABLE_FILE))
            elif kind == "symlink":
                entries.append(FileEntry(path, "symlink", target=next(targets)))
            else:
                entries.append(FileEntry(path, "dir"))
        return tuple(entries)


def _check(sections: dict[str, bytes], count: int, dirs: int) -> int:
    """The number of files; ValueError unless the sections hold as many of each thing as
    the header says, of the right types."""
    if len(sections["stats"]) != count * _FIELDS * 8 or len(sections["shas"]) != count * _SHA:
        raise ValueError("wrong number of entries")
    if count and sections["paths"].count(b"\0") != count - 1:
        raise ValueError("wrong number of paths")
    if len(sections["prints"]) != dirs * fingerprint.SIZE or not dirs:
        raise ValueError("wrong number of directories")
    if sections["dirs"].count(b"\0") != dirs - 1:
        raise ValueError("wrong number of directory paths")
    codes = array("q")
    codes.frombytes(sections["stats"])
    kinds = codes[::_FIELDS]
    if any(code not in _KINDS for code in set(kinds)):
        raise ValueError("unknown entry kind")
    links = kinds.count(4)
    if links and sections["targets"].count(b"\0") != links - 1:
        raise ValueError("wrong number of symlink targets")
    if not sections["digest"].startswith(DIGEST_PREFIX.encode()):
        raise ValueError("not a tree digest")
    for text in ("digest", "dirs", "paths", "targets"):
        sections[text].decode()
    excluded = json.loads(sections["excluded"])
    warnings = json.loads(sections["warnings"])
    if not isinstance(excluded, list) or not isinstance(warnings, list):
        raise ValueError("not lists")
    if not all(isinstance(w, str) for w in warnings) or not all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], bool)
        for e in excluded
    ):
        raise ValueError("wrong warnings or excluded paths")
    return kinds.count(2) + kinds.count(3)
