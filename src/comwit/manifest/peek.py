"""An app's build dir and excludes read from the manifest without validating it: a guess.

`comwit pack` starts packing on this guess while the manifest is validated beside it, and
keeps the archive only when the validated app says the same (`comwit.cli.ahead`). So this
imports no pydantic, and answers None on anything it does not expect: a wrong guess costs a
second pack, never a wrong archive.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from comwit.frozen import frozen
from comwit.manifest.limits import MAX_BYTES, overflow
from comwit.manifest.overlay import merge
from comwit.store.regular import read_regular


@frozen
class BuildGuess:
    root: Path  # the manifest's directory
    build_dir: Path
    exclude: tuple[str, ...]  # as the loaded manifest's AppConfig has them


def guess_build(path: Path, app: str, env: str | None) -> BuildGuess | None:
    """What `load_manifest(path, env=env).apps[app]` would say of the build dir, or None."""
    try:
        raw = read_regular(path, MAX_BYTES)
        if len(raw) > MAX_BYTES:
            return None
        text = raw.decode("utf-8").removeprefix("\ufeff")
        if overflow(text) is not None:
            return None
        document = tomllib.loads(text)
    except (OSError, ValueError, RecursionError):  # TOMLDecodeError and UnicodeError included
        return None
    if env is not None:
        overlay = _table(_table(document, "environments"), env)
        if not overlay:
            return None
        document, _ = merge(document, overlay, ("environments", env))
    spec = _table(_table(document, "apps"), app)
    build_dir = spec.get("build_dir")
    patterns = spec.get("exclude")
    if patterns is None:
        patterns = _table(document, "defaults").get("exclude")
    patterns = patterns or []
    if not isinstance(build_dir, str) or not build_dir or "\0" in build_dir or "build" in spec:
        return None  # a NUL names no path: the validated manifest says so
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        return None
    root = path.resolve().parent
    return BuildGuess(root, root / build_dir, app_exclude(root, root / build_dir, patterns))


def app_exclude(root: Path, build_dir: Path, patterns: Sequence[str]) -> tuple[str, ...]:
    """An app's exclude patterns, and comwit's own .comwit/ directory when it lies inside the
    build dir: its caches change between digesting and packing, and are never part of an app."""
    # Resolved both: a build dir that is the manifest's directory by another name (a link
    # to ".") holds .comwit/ all the same.
    try:
        inside = os.path.relpath(os.path.realpath(root), os.path.realpath(build_dir))
    except (OSError, ValueError):  # a NUL, a loop of links: the build dir's check says so
        inside = os.path.relpath(root, os.path.normpath(build_dir))
    if inside == ".." or inside.startswith(".." + os.sep):
        return tuple(patterns)
    own = "/.comwit/" if inside == "." else f"/{Path(inside).as_posix()}/.comwit/"
    return (*patterns, own)


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}
