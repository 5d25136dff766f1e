"""Tree digest, shortest path: one fingerprint per directory of what its listing shows.

A directory's fingerprint covers every entry in it, sorted by name: the name, the kind, and
for files the executable bit, size, mtime_ns, ctime_ns and inode, for symlinks the target;
entries the exclude rules left out count by name and kind alone. When every directory of
a walked tree still has its fingerprint (and the rules are the same), the tree is the one
digested before, which `unchanged` finds with one scandir per directory and one lstat per
file, and no per-entry objects. A directory holding a racy file never matches.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat
from array import array
from collections.abc import Iterable, Mapping, Sequence

from comwit.artifact.walk import INO_MASK, Node, link_target
from comwit.errors import ArtifactError

SIZE = 16  # bytes of a fingerprint
RACY = bytes(SIZE)  # the fingerprint of a directory that must be looked at again

# Per entry, five int64: the kind code, then size, mtime_ns, ctime_ns, inode (files only).
_DIR, _FILE, _EXECUTABLE, _SYMLINK, _LEFT_OUT_FILE, _LEFT_OUT_DIR = range(1, 7)
_NO_STAT: tuple[int, int, int, int] = (0, 0, 0, 0)
_NAME = operator.attrgetter("name")


def fingerprints(
    nodes: Sequence[Node], excluded: Iterable[tuple[str, bool]], trusted_before: int
) -> tuple[list[str], list[bytes]]:
    """The walked directories ("" for the root, then each directory node, in archive
    order) and their fingerprints, from a walk's nodes and the paths it left out.
    A directory holding a file stamped at or after `trusted_before` gets `RACY`."""
    listings: dict[str, list[tuple[str, tuple[int, int, int, int, int], str]]] = {"": []}
    racy: set[str] = set()
    for node in nodes:
        parent, _, name = node.rel.rpartition("/")
        if node.kind == "dir":
            listings[node.rel] = []
            listings[parent].append((name, (_DIR, *_NO_STAT), ""))
        elif node.kind == "symlink":
            listings[parent].append((name, (_SYMLINK, *_NO_STAT), node.target))
        else:
            code = _EXECUTABLE if node.executable else _FILE
            record = (code, node.size, node.mtime_ns, node.ctime_ns, node.ino)
            listings[parent].append((name, record, ""))
            if node.mtime_ns >= trusted_before or node.ctime_ns >= trusted_before:
                racy.add(parent)
    for rel, is_dir in excluded:
        parent, _, name = rel.rpartition("/")
        code = _LEFT_OUT_DIR if is_dir else _LEFT_OUT_FILE
        listings[parent].append((name, (code, *_NO_STAT), ""))
    dirs = list(listings)
    prints = []
    for rel in dirs:
        if rel in racy:
            prints.append(RACY)
            continue
        entries = sorted(listings[rel])  # names are unique in a directory
        records = array("q")
        for _, record, _ in entries:
            records.extend(record)
        names = [name for name, _, _ in entries]
        targets = [target for _, record, target in entries if record[0] == _SYMLINK]
        prints.append(_fingerprint(records, names, targets))
    return dirs, prints


def unchanged(
    root: str,
    dirs: Sequence[str],
    prints: Sequence[bytes],
    left_out: Mapping[str, frozenset[str]],
) -> bool:
    """Whether each of `dirs` (under the real path `root`) still lists what gave its
    fingerprint in `prints`; `left_out` names, per directory, the entries the same rules
    leave out. False at the first difference, and on any error (the full walk reports it)."""
    try:
        for rel, expected in zip(dirs, prints, strict=True):
            if expected == RACY or _listing(root, rel, left_out.get(rel)) != expected:
                return False
    except (OSError, ArtifactError):
        return False
    return True


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
                return RACY  # a socket, FIFO or device: the full walk says what to do
    return _fingerprint(records, names, targets)


def _fingerprint(records: array[int], names: list[str], targets: list[str]) -> bytes:
    # Names and targets hold no NUL, and the records fix how many of each there are.
    text = "\0".join(names) + "\0\0" + "\0".join(targets)
    h = hashlib.blake2b(records.tobytes(), digest_size=SIZE)
    h.update(text.encode("utf-8", "surrogateescape"))
    return h.digest()
