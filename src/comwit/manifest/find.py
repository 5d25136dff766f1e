"""Which manifest a command reads when `--file` is not given: the nearest comwit.toml in the
working directory or above it, as git, ruff and pre-commit find theirs."""

from __future__ import annotations

import os
from pathlib import Path

from comwit.errors import ManifestError, Problem

DEFAULT_FILE = "comwit.toml"


def nearest_manifest() -> tuple[Path, str | None]:
    """The manifest a command reads when `--file` is not given, as its messages name it:
    comwit.toml when it is in the working directory, else its path from here; with the line
    that says which, when it was found above (ManifestError when there is none)."""
    here = Path.cwd()
    found = find_manifest(here)
    if found.parent == here.resolve():
        return Path(DEFAULT_FILE), None
    relative = Path(os.path.relpath(found))
    return relative, f"Using the manifest {relative}."


def find_manifest(start: Path) -> Path:
    """The nearest comwit.toml in `start` or a parent directory, not looking above the top of
    the repository `start` is in (the first directory holding `.git`); ManifestError if none."""
    start = start.resolve()
    top = None
    for directory in (start, *start.parents):
        if _exists(directory / DEFAULT_FILE):
            return directory / DEFAULT_FILE
        if _exists(directory / ".git"):
            top = directory
            break
    searched = str(start)
    if top != start:
        above = f"up to the repository's top {top}" if top else "up to /"
        searched += f" and the directories above it, {above}"
    message = f"not found in {searched}; write one with `comwit init`, or pass -f FILE"
    raise ManifestError([Problem(DEFAULT_FILE, None, None, "", message)])


def repository_root(start: Path) -> Path:
    """The top of the git repository `start` is in (the nearest directory holding `.git`),
    else `start` itself: what a manifest's build dirs must stay inside."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if _exists(directory / ".git"):
            return directory
    return start


def _exists(path: Path) -> bool:
    """Whether `path` is there; False when a directory on the way cannot be read."""
    try:
        return path.exists()
    except OSError:  # an unreadable directory on the way up: nothing to find there
        return False
