"""A path option's value checked as typer checks one, typer-free: the command line's
conversion (`cli.coercion`) and `comwit pack`'s early reading (`cli.ahead`) ask the same."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Protocol

from comwit.escape import quoted
from comwit.frozen import frozen


class PathRules(Protocol):
    """What a path option allows, as typer's parameter info holds it."""

    @property
    def exists(self) -> bool: ...
    @property
    def file_okay(self) -> bool: ...
    @property
    def dir_okay(self) -> bool: ...
    @property
    def readable(self) -> bool: ...
    @property
    def writable(self) -> bool: ...


@frozen
class TyperDefaults:
    """typer's rules for a path option that sets none (as `pack`'s -o and -f are declared)."""

    exists: bool = False
    file_okay: bool = True
    dir_okay: bool = True
    readable: bool = True
    writable: bool = False


def checked_path(value: Any, info: PathRules) -> Path:
    """A path, checked as typer checks one: what is there must be of the kind allowed;
    ValueError says what is wrong."""
    kind = {(True, False): "file", (False, True): "dir"}.get(
        (info.file_okay, info.dir_okay), "path"
    )
    if not os.fsdecode(value):  # Path("") is ".", the directory: not what was meant
        named = "a directory" if kind == "dir" else "a file"
        raise ValueError(f"an empty path; pass {named} name")
    path = Path(value)
    shown = f"{kind} {quoted(os.fsdecode(value))}"
    try:
        mode = path.stat().st_mode
    except OSError:
        if info.exists:
            raise ValueError(f"{shown} does not exist.") from None
        return path
    if not info.file_okay and stat.S_ISREG(mode):
        raise ValueError(f"{shown} is a file.")
    if not info.dir_okay and stat.S_ISDIR(mode):
        raise ValueError(f"{shown} is a directory.")
    if info.readable and not os.access(path, os.R_OK):
        raise ValueError(f"{shown} is not readable.")
    if info.writable and not os.access(path, os.W_OK):
        raise ValueError(f"{shown} is not writable.")
    return path
