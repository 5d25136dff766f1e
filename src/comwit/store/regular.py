"""Regular files only: the files comwit is pointed at (a manifest, an event file, an output)
are read and written only when they are regular files, so a FIFO, a device or a socket is
one clear error instead of a read that never ends, a wait for a writer, or a device node
replaced by a rename."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFile(OSError):
    """`path` is a FIFO, a socket or a device: `reason` (its strerror) says which."""

    def __init__(self, path: Path, mode: int) -> None:
        kind = next((name for test, name in _KINDS if test(mode)), "something else")
        self.reason = f"is {kind}, not a regular file"
        super().__init__(errno.EINVAL, self.reason, str(path))


def read_regular(path: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the regular file `path` (more than `limit`: the caller's
    "too large"). A directory raises IsADirectoryError, a FIFO, socket or device
    NotRegularFile; opening never waits for a FIFO's writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        require_regular(path, os.fstat(fd).st_mode)
        return file.read(limit + 1)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path` (as `read_regular` opens it); ValueError
    ("larger than N MiB") when it holds more than `limit`, a whole number of MiB."""
    data = read_regular(path, limit)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 2**20} MiB")
    return data


def refuse_special(path: Path) -> None:
    """NotRegularFile if `path` exists and is a FIFO, socket or device (a file written by a
    rename over it would replace the node; writing into it could wait forever)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # not there (or not reachable): the write itself says why
    if not stat.S_ISDIR(mode):
        require_regular(path, mode)


def open_append(path: Path) -> BinaryIO:
    """`path` opened to append to, created if missing; a FIFO, socket or device raises
    NotRegularFile (opening never waits for a FIFO's reader)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads (or a device that is not there)
            raise NotRegularFile(path, path.stat().st_mode) from None
        raise
    try:
        require_regular(path, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab")


def require_regular(path: Path, mode: int) -> None:
    """IsADirectoryError or NotRegularFile unless `mode` (`path`'s) is a regular file's."""
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFile(path, mode)
