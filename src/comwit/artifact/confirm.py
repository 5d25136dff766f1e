"""Tree digest, shortest path: is a build dir still the tree its stat cache remembers?

Each remembered entry gets one lstat, compared with what was remembered: a file by its
kind, executable bit, size, mtime_ns, ctime_ns and inode; a directory (and the build dir
itself) by its mtime_ns, ctime_ns and inode, which change whenever an entry is added,
removed or renamed in it; a symlink by its target, checked again to stay inside the build
dir. Nothing is listed and no per-entry object is made. Entries the exclude rules left out
need nothing: their names, all the rules look at, are as they were.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from array import array
from collections.abc import Mapping, Sequence

from comwit.artifact.entries import DIR, EXECUTABLE, SYMLINK
from comwit.artifact.walk import INO_MASK, link_target
from comwit.errors import ArtifactError

STAMPS = 3  # per entry: mtime_ns, ctime_ns, inode (zeros for symlinks)


def unchanged(
    root: str,
    paths: Sequence[str],
    codes: bytes,
    sizes: array[int],
    stamps: array[int],
    targets: Mapping[int, str],
    *,
    threads: int = min(2, os.cpu_count() or 1),
) -> bool:
    """Whether every entry under the real path `root` is as remembered: entry i is
    `paths[i]`, of kind `codes[i]` (`entries` codes), with `sizes[i]`, the stamps at
    `stamps[STAMPS * i:]` and, for a symlink, `targets[i]`. False at the first difference
    and on any error (the full walk then says what is wrong).

    `threads` threads share the entries out: lstat releases the GIL, so the system calls
    of one run on another core while the other compares."""
    stop = threading.Event()  # set at the first difference: the others end early too
    results = [False] * threads

    def check(n: int) -> None:
        with contextlib.suppress(OSError, ArtifactError):
            results[n] = _check(root, paths, codes, sizes, stamps, targets, n, threads, stop)
        if not results[n]:
            stop.set()

    helpers = [threading.Thread(target=check, args=(n,), daemon=True) for n in range(1, threads)]
    for helper in helpers:
        helper.start()
    check(0)
    for helper in helpers:
        helper.join()
    return all(results)


def _check(
    root: str,
    paths: Sequence[str],
    codes: bytes,
    sizes: array[int],
    stamps: array[int],
    targets: Mapping[int, str],
    first: int,
    step: int,
    stop: threading.Event,
) -> bool:
    """Entries first, first + step, ... One loop: it runs per entry."""
    lstat, prefix = os.lstat, root + "/"
    is_dir, is_file, is_link, executable = stat.S_ISDIR, stat.S_ISREG, stat.S_ISLNK, stat.S_IXUSR
    for i in range(first, len(paths), step):
        if stop.is_set():
            return False
        path = prefix + paths[i]
        st = lstat(path)
        mode, code, at = st.st_mode, codes[i], i * STAMPS
        if code == SYMLINK:
            if not is_link(mode) or link_target(root, path, paths[i]) != targets[i]:
                return False
            continue
        if code == DIR:
            if not is_dir(mode):
                return False
        elif (
            not is_file(mode)
            or (code == EXECUTABLE) != bool(mode & executable)
            or st.st_size != sizes[i]
        ):
            return False
        if (
            st.st_mtime_ns != stamps[at]
            or st.st_ctime_ns != stamps[at + 1]
            or st.st_ino & INO_MASK != stamps[at + 2]
        ):
            return False
    return True
