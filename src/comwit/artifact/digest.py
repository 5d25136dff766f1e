"""Build dir -> tree digest: the content identity the planner compares, computed without packing.

The values and the canonical encoding live in `tree`; this module reads the files, or,
with a stat cache, only those whose lstat changed: `survey` walks and looks files up,
`finish` hashes the rest. A stat cache that confirms the whole tree unchanged spares the
walk too (see `fingerprint`).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from comwit.artifact.stat_cache import StatCache
from comwit.artifact.tree import FileEntry, TreeDigest, make_tree_digest
from comwit.artifact.walk import Node, Tree, walk
from comwit.errors import ArtifactError, os_reason
from comwit.frozen import frozen

_READ_SIZE = 1 << 20  # bytes of the reused read buffer


@frozen
class Survey:
    """A walked build dir and the hashes its stat cache vouches for (None: to be read),
    or the tree its stat cache confirmed unchanged (`confirmed`, with no walk)."""

    tree: Tree | None
    known: tuple[str | None, ...]  # per node; always None for dirs and symlinks
    started_ns: int  # before the walk: no hash read after it can be older
    cache: StatCache | None
    files: int  # file nodes
    unknown: int  # files whose content must be read to know their hash
    confirmed: TreeDigest | None = None


def digest_tree(
    build_dir: Path, exclude: Sequence[str] = (), cache: StatCache | None = None
) -> TreeDigest:
    """The tree digest and per-file list of `build_dir`, leaving out excluded paths.

    With `cache`, files whose lstat it vouches for are not read, and it learns the rest.
    """
    return finish(survey(build_dir, exclude, cache))


def survey(build_dir: Path, exclude: Sequence[str] = (), cache: StatCache | None = None) -> Survey:
    """Walk `build_dir` and look each file up in `cache`; nothing is read yet."""
    started = cache.clock() if cache is not None else 0
    if cache is not None and (confirmed := cache.confirm(build_dir, exclude)) is not None:
        return Survey(None, (), started, cache, len(cache), 0, confirmed)
    with collection_paused():
        tree = walk(build_dir, exclude)
        files = sum(1 for node in tree.nodes if node.kind == "file")
        if cache is None or not len(cache):
            known: tuple[str | None, ...] = (None,) * len(tree.nodes)
            return Survey(tree, known, started, cache, files, files)
        known = cache.lookup(tree.nodes)
    unknown = files - (len(known) - known.count(None))
    return Survey(tree, known, started, cache, files, unknown)


def finish(surveyed: Survey) -> TreeDigest:
    """The digest of a surveyed tree: read the files the cache did not vouch for, and
    remember the tree (the cache file is rewritten unless it confirmed the tree as it was)."""
    with collection_paused():
        return _finish(surveyed)


def _finish(surveyed: Survey) -> TreeDigest:
    if surveyed.confirmed is not None:
        return surveyed.confirmed
    tree = surveyed.tree
    assert tree is not None  # a survey has a walk or a confirmed tree
    buf = bytearray(_READ_SIZE)
    root = str(tree.root)
    hashes: Sequence[str | None] = surveyed.known
    if surveyed.unknown:
        hashes = [
            known if known is not None or node.kind != "file" else _hash_file(root, node, buf)
            for node, known in zip(tree.nodes, surveyed.known, strict=True)
        ]
    digest = make_tree_digest(
        [entry_of(node, h) for node, h in zip(tree.nodes, hashes, strict=True)], tree.warnings
    )
    if surveyed.cache is not None:  # it did not confirm this tree: now it will
        surveyed.cache.save(tree, digest, surveyed.started_ns)
    return digest


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a tree's entries are made: they are tuples that
    hold no cycles, and each collection would sweep all those made so far (on 100,000
    files, a third of a no-change digest's CPU time). Re-enabled after, if it was on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def entry_of(node: Node, sha256: str | None) -> FileEntry:
    if node.kind == "file":
        return FileEntry(node.rel, "file", node.size, sha256, node.executable)
    if node.kind == "symlink":
        return FileEntry(node.rel, "symlink", target=node.target)
    return FileEntry(node.rel, "dir")


def _hash_file(root: str, node: Node, buf: bytearray) -> str:
    """sha256 of one file, read through the reused buffer `buf`: exactly `node.size` bytes."""
    path = root + "/" + node.rel
    h = hashlib.sha256()
    view = memoryview(buf)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise unreadable(root, node.rel, exc) from exc
    try:
        left = node.size
        while True:
            n, whole = read_next(fd, view, left, root, node.rel)
            if n:
                h.update(view[:n])
            if whole:
                break
            left -= n
    except OSError as exc:
        raise unreadable(root, node.rel, exc) from exc
    finally:
        os.close(fd)
    return h.hexdigest()


def read_next(fd: int, view: memoryview, left: int, root: str, rel: str) -> tuple[int, bool]:
    """Read the next part of the file `rel` into `view`, when `left` bytes should still come;
    return how many came, and whether that was the end of the file.

    It asks for one byte more than `left` when `view` has room for it: a file that grew
    since the walk then shows without an fstat, and one that shrank shows as an early end
    (ArtifactError either way). A read that got all of `left` without that extra byte cannot
    tell the end yet: the next one (into a view with room) will."""
    want = min(left + 1, len(view))
    n = os.readv(fd, [view[:want]])
    if n > left or (n == 0 and left):
        raise changed_while_reading(root, rel)
    return n, n == left < want


def unreadable(root: str, rel: str, exc: OSError) -> ArtifactError:
    return ArtifactError(
        f"cannot read {rel} in {root}: {os_reason(exc)}; "
        "fix its permissions or add it to `exclude`",
        path=root + "/" + rel,
    )


def changed_while_reading(root: str, rel: str) -> ArtifactError:
    return ArtifactError(
        f"{rel} in {root} changed while it was being read; finish the build first, then retry",
        path=root + "/" + rel,
    )
