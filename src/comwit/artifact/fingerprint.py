"""Tree digest, shortest path: one fingerprint per directory of what its listing shows.

A directory's fingerprint covers every entry in it, sorted by name: the name, the kind, and
for files the executable bit, size, mtime_ns, ctime_ns and inode, for symlinks the target;
entries the exclude rules left out count by name and kind alone. When every directory of
a walked tree still has its fingerprint (and the rules are the same), the tree is the one
digested before, which `unchanged` finds with one scandir per directory and one lstat per
file, and no per-entry objects. A directory holding a racy file (stamped too close to the
time the hashes were taken) is never taken as unchanged.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence

from comwit.artifact.walk import INO_MASK, Node, link_target
from comwit.errors import ArtifactError

SIZE = 16  # bytes of a fingerprint
NEVER = bytes(SIZE)  # what a directory that must be walked again never matches

# Per entry, five int64: the kind code, then size, mtime_ns, ctime_ns, inode (files only).
_DIR, _FILE, _EXECUTABLE, _SYMLINK, _LEFT_OUT_FILE, _LEFT_OUT_DIR = range(1, 7)
_FIELDS = 5
_NO_STAT: tuple[int, int, int, int] = (0, 0, 0, 0)
_DIR_RECORD = (_DIR, *_NO_STAT)
_SYMLINK_RECORD = (_SYMLINK, *_NO_STAT)
_NAME = operator.attrgetter("name")


class _Listing:
    """One directory's entries, in name order, as its fingerprint covers them."""

    __slots__ = ("names", "newest", "records", "targets")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.records = array("q")
        self.targets: list[str] = []
        self.newest = 0  # the latest mtime_ns or ctime_ns of a file in it

    def fingerprint(self) -> bytes:
        return _fingerprint(self.records, self.names, self.targets)

    def merged(self, left_out: Iterable[tuple[str, bool]]) -> _Listing:
        """The listing with the entries the rules left out put in their places."""
        entries = [
            (name, tuple(self.records[i * _FIELDS : (i + 1) * _FIELDS]))
            for i, name in enumerate(self.names)
        ]
        entries += [
            ((name), (_LEFT_OUT_DIR if d else _LEFT_OUT_FILE, *_NO_STAT)) for name, d in left_out
        ]
        merged = _Listing()
        merged.newest = self.newest
        targets = iter(self.targets)
        for name, record in sorted(entries):  # names are unique in a directory
            merged.names.append(name)
            merged.records.extend(record)
            if record[0] == _SYMLINK:
                merged.targets.append(next(targets))
        return merged


def fingerprints(
    nodes: Sequence[Node], excluded: Iterable[tuple[str, bool]]
) -> tuple[list[str], list[bytes], list[int]]:
    """The walked directories ("" for the root, then each directory node, in archive
    order), their fingerprints and the latest stamp of a file in each, from a walk's nodes
    (each directory's entries come in name order) and the paths it left out. One loop: it
    runs per entry."""
    listings = {"": _Listing()}
    for node in nodes:
        rel = node.rel
        cut = rel.rfind("/")
        listing = listings[rel[:cut] if cut >= 0 else ""]
        listing.names.append(rel[cut + 1 :])
        kind = node.kind
        if kind == "file":
            code = _EXECUTABLE if node.executable else _FILE
            listing.records.extend((code, node.size, node.mtime_ns, node.ctime_ns, node.ino))
            listing.newest = max(listing.newest, node.mtime_ns, node.ctime_ns)
        elif kind == "dir":
            listing.records.extend(_DIR_RECORD)
            listings[rel] = _Listing()
        else:
            listing.records.extend(_SYMLINK_RECORD)
            listing.targets.append(node.target)
    left_out: dict[str, list[tuple[str, bool]]] = {}
    for rel, is_dir in excluded:
        parent, _, name = rel.rpartition("/")
        left_out.setdefault(parent, []).append((name, is_dir))
    for parent, entries in left_out.items():
        listings[parent] = listings[parent].merged(entries)
    dirs = list(listings)
    prints = [listings[rel].fingerprint() for rel in dirs]
    return dirs, prints, [listings[rel].newest for rel in dirs]


def unchanged(
    root: str,
    dirs: Sequence[str],
    prints: Sequence[bytes],
    left_out: Mapping[str, frozenset[str]],
    *,
    threads: int = min(2, os.cpu_count() or 1),
) -> bool:
    """Whether each of `dirs` (under the real path `root`) still lists what gave its
    fingerprint in `prints`; `left_out` names, per directory, the entries the same rules
    leave out. False at the first difference, and on any error (the full walk reports it).

    `threads` threads share the directories out: scandir and lstat release the GIL, so
    the system calls of one run on another core while the other hashes its listings."""
    if len(dirs) != len(prints):
        return False
    stop = threading.Event()  # set at the first difference: the others end early too
    results = [False] * threads

    def check(n: int) -> None:
        try:
            for i in range(n, len(dirs), threads):
                if stop.is_set() or _listing(root, dirs[i], left_out.get(dirs[i])) != prints[i]:
                    break
            else:
                results[n] = True
        except (OSError, OverflowError, ArtifactError):  # OverflowError: not an int64
            pass
        if not results[n]:
            stop.set()

    helpers = [threading.Thread(target=check, args=(n,), daemon=True) for n in range(1, threads)]
    for helper in helpers:
        helper.start()
    check(0)
    for helper in helpers:
        helper.join()
    return all(results)


def _listing(root: str, rel: str, left_out: frozenset[str] | None) -> bytes:
    """The fingerprint of one directory as it is now. One loop: it runs per entry."""
    path = root + "/" + rel if rel else root
    with os.scandir(path) as it:
        entries = sorted(it, key=_NAME)
    records = array("q")
    add = records.extend
    names = []
    targets = []
    for entry in entries:
        name = entry.name
        names.append(name)
        if left_out is not None and name in left_out:
            add(
                (
                    _LEFT_OUT_DIR if entry.is_dir(follow_symlinks=False) else _LEFT_OUT_FILE,
                    0,
                    0,
                    0,
                    0,
                )
            )
        elif entry.is_dir(follow_symlinks=False):
            add((_DIR, 0, 0, 0, 0))
        else:
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISREG(mode):
                code = _EXECUTABLE if mode & stat.S_IXUSR else _FILE
                add((code, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino & INO_MASK))
            elif stat.S_ISLNK(mode):
                add((_SYMLINK, 0, 0, 0, 0))
                entry_rel = rel + "/" + name if rel else name
                targets.append(link_target(root, entry.path, entry_rel))
            else:
                return NEVER  # a socket, FIFO or device: the full walk says what to do
    return _fingerprint(records, names, targets)


def _fingerprint(records: array[int], names: list[str], targets: list[str]) -> bytes:
    # Names and targets hold no NUL, and the records fix how many of each there are.
    text = "\0".join(names) + "\0\0" + "\0".join(targets)
    h = hashlib.blake2b(records.tobytes(), digest_size=SIZE)
    h.update(text.encode("utf-8", "surrogateescape"))
    return h.digest()
