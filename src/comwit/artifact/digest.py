"""Build dir -> tree digest: the content identity the planner compares, computed without packing.

The values and the canonical encoding live in `tree`; this module reads the files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from comwit.artifact.tree import FileEntry, TreeDigest, make_tree_digest
from comwit.artifact.walk import Node, walk
from comwit.errors import ArtifactError

_READ_SIZE = 1 << 20


def digest_tree(build_dir: Path, exclude: Sequence[str] = ()) -> TreeDigest:
    """The tree digest and per-file list of `build_dir`, leaving out excluded paths."""
    tree = walk(build_dir, exclude)
    buf = bytearray(_READ_SIZE)
    root = str(tree.root)
    files = [
        entry_of(node, _hash_file(root, node, buf) if node.kind == "file" else None)
        for node in tree.nodes
    ]
    return make_tree_digest(files, tree.warnings)


def entry_of(node: Node, sha256: str | None) -> FileEntry:
    if node.kind == "file":
        return FileEntry(node.rel, "file", node.size, sha256, node.executable)
    if node.kind == "symlink":
        return FileEntry(node.rel, "symlink", target=node.target)
    return FileEntry(node.rel, "dir")


def _hash_file(root: str, node: Node, buf: bytearray) -> str:
    """sha256 of one file, read through the reused buffer `buf`; exactly `node.size` bytes."""
    path = root + "/" + node.rel
    h = hashlib.sha256()
    view = memoryview(buf)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise unreadable(root, node.rel, exc) from exc
    try:
        left = node.size
        while left:
            n = os.readv(fd, [view[: min(left, _READ_SIZE)]])
            if n == 0:
                raise changed_while_reading(root, node.rel)
            h.update(view[:n])
            left -= n
        if os.fstat(fd).st_size != node.size:
            raise changed_while_reading(root, node.rel)
    except OSError as exc:
        raise unreadable(root, node.rel, exc) from exc
    finally:
        os.close(fd)
    return h.hexdigest()


def unreadable(root: str, rel: str, exc: OSError) -> ArtifactError:
    reason = (exc.strerror or str(exc)).lower()
    return ArtifactError(
        f"cannot read {rel} in {root}: {reason}; fix its permissions or add it to `exclude`",
        path=root + "/" + rel,
    )


def changed_while_reading(root: str, rel: str) -> ArtifactError:
    return ArtifactError(
        f"{rel} in {root} changed while it was being read; finish the build first, then retry",
        path=root + "/" + rel,
    )
