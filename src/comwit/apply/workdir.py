"""Where apply packs artifacts: `.comwit/tmp/<pid>-<random>/` next to the manifest.

Never the system temp dir or a build dir: a run killed while packing or uploading leaves its
artifact where the next run finds it and removes it (the directory names its process).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from types import TracebackType

from comwit.errors import ComwitError
from comwit.escape import cut_path

_OWNED = re.compile(r"(\d+)-[0-9a-f]+")


class WorkDir:
    def __init__(self, root: Path) -> None:
        self._base = root / ".comwit" / "tmp"
        self.path = self._base / f"{os.getpid()}-{secrets.token_hex(4)}"

    def __enter__(self) -> WorkDir:
        remove_abandoned(self._base)
        try:
            self.path.mkdir(parents=True)
        except OSError as exc:  # .comwit (or .comwit/tmp) is a file, or cannot be written
            state = cut_path(self._base.parent)
            raise ComwitError(
                f"cannot make a work dir to pack in under {state} ({exc.strerror}); "
                "make it a directory comwit can write to, or remove it"
            ) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._base.rmdir()  # only when no other run is using it


def remove_abandoned(base: Path) -> list[Path]:
    """Remove work dirs of processes that no longer exist; the ones removed."""
    removed: list[Path] = []
    try:
        children = list(base.iterdir())
    except OSError:
        return removed
    for child in children:
        owned = _OWNED.fullmatch(child.name)
        if owned and not process_exists(int(owned.group(1))):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def process_exists(pid: int) -> bool:
    """A process of this machine runs with this id (one we may not signal counts: it
    exists). A zombie does not: killed, it waits only for its parent to reap it, which in a
    container without an init may be never, and its lease would be held until it expires."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether Linux's /proc says `pid` is a zombie (elsewhere, or unreadable: not known)."""
    try:
        line = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    # "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so the last ")" ends it.
    _, _, rest = line.rpartition(b")")
    return rest[1:2] == b"Z"
