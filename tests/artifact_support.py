"""Builders for artifact tests: small build dirs on disk, snapshots of them, and a way for
root to lose its power to read any file."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from comwit.artifact.stat_cache import StatCache

NOBODY = 65534
LATER_NS = 10_000_000_000  # hashes taken this long after the files were written are not racy


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Exe:
    text: str


Spec = Mapping[str, "str | bytes | Link | Exe | None"]  # "dir/": None is an empty directory

SITE: Spec = {
    "index.html": "<h1>hello</h1>\n",
    "assets/app.js": "console.log(1)\n" * 50,
    "assets/logo.png": bytes(range(256)) * 40,
    "bin/serve.sh": Exe("#!/bin/sh\nexec true\n"),
    "latest.js": Link("assets/app.js"),
    "empty/": None,
}


def write_tree(root: Path, spec: Spec, *, reverse: bool = False) -> Path:
    """Write `spec` under `root` (created), in reverse order when asked."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, value in sorted(spec.items(), reverse=reverse):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        match value:
            case None:
                path.mkdir(exist_ok=True)
            case Link(target):
                path.symlink_to(target)
            case Exe(text):
                path.write_text(text)
                path.chmod(path.stat().st_mode | 0o111)
            case bytes():
                path.write_bytes(value)
            case str():
                path.write_text(value)
    return root


def write_tree_differently(root: Path, spec: Spec, *, mtime: int, umask: int) -> Path:
    """The same tree made another way: reverse order, another umask, mtimes and owner."""
    old = os.umask(umask)
    try:
        write_tree(root, spec, reverse=True)
    finally:
        os.umask(old)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)
        if os.geteuid() == 0:
            os.lchown(path, NOBODY, NOBODY)
    return root


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under `root`: type, content, executable bit, symlink target."""
    found: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            found[rel] = ("symlink", str(path.readlink()))
        elif stat.S_ISDIR(mode):
            found[rel] = ("dir",)
        else:
            found[rel] = ("file", path.read_bytes(), bool(mode & stat.S_IXUSR))
    return found


@contextlib.contextmanager
def unprivileged(*paths: Path) -> Iterator[None]:
    """Run the block as `nobody` when the tests run as root (root reads any file).

    `paths` are made reachable for nobody (their ancestors get o+x, themselves o+rwx).
    """
    if os.geteuid() != 0:
        yield
        return
    for path in paths:
        path.chmod(0o777)
        for parent in path.parents:
            if not parent.stat().st_mode & 0o001:
                parent.chmod(parent.stat().st_mode | 0o001)
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def later() -> int:
    """A clock that says the hashes were taken `LATER_NS` after now (none of them racy)."""
    return time.time_ns() + LATER_NS


def cache_of(tmp_path: Path, site: Path, clock: Callable[[], int] = later) -> StatCache:
    """`site`'s stat cache, kept in `tmp_path / "stat"`, on `clock` (by default `later`)."""
    return StatCache.open(tmp_path / "stat", site, clock)
