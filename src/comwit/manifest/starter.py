"""A first comwit.toml for a repository (`comwit init`): the build dirs found in it, one app
each, and `.comwit/` (comwit's caches and the embedded emulator's state) kept out of git."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from comwit.api.assumed import APP_NAME
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.store.regular import read_bounded

# Where builds usually land, most likely first: one per directory is taken.
BUILD_DIR_NAMES = ("dist", "build", "out", "_site", "public")
_MAX_GITIGNORE = 16 << 20  # not read past it
_SKIPPED = frozenset({"node_modules", "vendor", "venv", "target", "__pycache__"})
_DEPTH = 3  # apps/web/dist: deep enough for monorepos, shallow enough to stay quick
STATE_IGNORE = ".comwit/"


@frozen
class FoundApp:
    name: str
    build_dir: str  # POSIX, relative to the manifest's directory


def find_build_dirs(root: Path) -> list[FoundApp]:
    """Non-empty build dirs under `root`, each named after the directory that holds it."""
    found: list[FoundApp] = []
    taken: set[str] = set()
    for build_dir in _candidates(root, root, 0):
        relative = build_dir.relative_to(root).as_posix()
        owner = build_dir.parent if build_dir.parent != root else root
        name = _unique(app_name(owner.resolve().name), taken)
        taken.add(name)
        found.append(FoundApp(name, relative))
    return found


def app_name(text: str) -> str:
    """`text` as an app name: lower case, runs of other characters turned into one '-'."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name if APP_NAME.fullmatch(name) else "app"


def render_starter(project: str | None, apps: Sequence[FoundApp]) -> str:
    """The starter manifest's text; with no build dir found, one app to fill in."""
    shown = list(apps) or [FoundApp("web", "dist")]
    head = ["# comwit.toml: the apps comwit deploys (see docs/manifest.md).", ""]
    document = {"version": 1, **({"project": project} if project else {})}
    body = tomli_w.dumps(document)
    if not project:
        body += '# project = "your-project-id"  # or pass --project, or set COMWIT_PROJECT\n'
    if not apps:
        body += "# No build dir found: point build_dir at the directory your build writes.\n"
    tables = {"apps": {app.name: {"build_dir": app.build_dir} for app in shown}}
    return "\n".join(head) + "\n" + body + "\n" + tomli_w.dumps(tables)


class KeptInGit(ValueError):
    """The .gitignore is left as it is, for the reason the message gives: it is a symbolic link
    (which git does not read) or one of its lines re-includes what `.comwit/` would ignore."""


def ignore_state_dir(root: Path) -> bool:
    """Add `.comwit/` to `root`/.gitignore unless git already ignores what comwit keeps there;
    True if added. OSError or ValueError when the file cannot be read as UTF-8 text (or is
    too large); KeptInGit when it is a symbolic link or a line of it keeps `.comwit/` in git."""
    path = root / ".gitignore"
    if path.is_symlink():
        raise KeptInGit(
            "left .gitignore as it is: it is a symbolic link, which git does not read;"
            " add .comwit/ to a .gitignore git reads"
        )
    try:
        text = read_bounded(path, _MAX_GITIGNORE).decode("utf-8")
    except FileNotFoundError:
        text = ""
    patterns = _patterns(text)
    for probe in _STATE_PROBES:
        ignored, line = _ignored(patterns, probe)
        if not ignored and line:
            shown = quoted(patterns[line - 1].pattern)
            raise KeptInGit(
                f"left .gitignore as it is: its line {line}, {shown}, keeps .comwit/"
                " (comwit's caches and local state) in git"
            )
        if not ignored:
            break
    else:
        return False
    separator = "" if not text or text.endswith("\n") else "\n"
    addition = "# comwit's local state: caches, the embedded emulator\n" + STATE_IGNORE + "\n"
    path.write_text(text + separator + addition, encoding="utf-8")
    return True


# What comwit keeps in .comwit/: ignored when each of these is.
_STATE_PROBES = (".comwit/state.json", ".comwit/emulator/state.json", ".comwit/tmp/1-a/web.tar.zst")


def _patterns(text: str) -> list[Any]:
    """One pathspec pattern per line (line numbers are indexes + 1); as git does, a line that
    is not a valid pattern matches nothing."""
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    patterns: list[Any] = []
    for line in text.splitlines():
        try:
            patterns.append(GitIgnoreSpecPattern(line))
        except ValueError:
            patterns.append(GitIgnoreSpecPattern("#"))  # a comment: matches nothing
    return patterns


def _ignored(patterns: list[Any], path: str) -> tuple[bool, int]:
    """Whether git ignores `path`, and the line that decides it (0: none). As in git, the
    directories are looked at first, and nothing under an ignored directory comes back."""
    parts = path.split("/")
    kept = 0  # the last line that re-included the path or a directory above it
    for depth in range(1, len(parts) + 1):
        here = "/".join(parts[:depth]) + ("/" if depth < len(parts) else "")
        include, line = None, 0
        for number, pattern in enumerate(patterns, start=1):
            if pattern.include is not None and pattern.match_file(here) is not None:
                include, line = pattern.include, number
        if include:
            return True, line
        if include is False:
            kept = line
    return False, kept


def _candidates(root: Path, directory: Path, depth: int) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    names = {e.name for e in dirs}
    chosen = next((n for n in BUILD_DIR_NAMES if n in names and _has_files(directory / n)), None)
    if chosen is not None:
        yield directory / chosen
        if directory != root:
            return  # an app's directory: what else is in it is the app's source
    for entry in dirs:
        if depth + 1 >= _DEPTH or entry.name.startswith(".") or entry.name in _SKIPPED:
            continue
        if entry.name in BUILD_DIR_NAMES:
            continue
        yield from _candidates(root, Path(entry.path), depth + 1)


def _has_files(directory: Path) -> bool:
    try:
        return any(path.is_file() for path in directory.rglob("*"))
    except OSError:
        return False


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name[:60]}-{n}"
        n += 1
    return candidate
