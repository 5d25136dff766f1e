"""A first look at one app's build dir in comwit.toml, before (and without) validation.

`comwit pack` starts packing from it while the manifest is validated: importing pydantic and
building the models is about half of the command's start-up. The look takes the raw TOML
through the same steps as `load_manifest` (size and depth limits, the --env overlay, root,
[defaults], comwit's own state dir) and answers None whenever a value is not plainly what
validation would make of it: None means "do not start early", never a guess to keep.
Nothing here imports pydantic; validation keeps the last word (see `cli/pack_cmd.py`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from comwit.manifest.limits import MAX_BYTES, overflow, too_deep
from comwit.manifest.overlay import merge


class BuildDir(NamedTuple):
    """What packing an app reads from the manifest, as `load_manifest` resolves it. A
    NamedTuple: it is made on the way to packing, in a fifth of a dataclass's time."""

    root: Path  # the manifest's directory: build_dir and .comwit/ are relative to it
    build_dir: Path
    exclude: tuple[str, ...]


def peek_build_dir(path: Path, app: str, *, env: str | None = None) -> BuildDir | None:
    """App `app`'s build dir and exclude patterns in the manifest at `path` with `env`
    overlaid, if its raw values are exactly what validation would produce; else None."""
    document = _document(path)
    if document is None or not _is_version_1(document.get("version")):
        return None
    if env is not None:
        environments = document.get("environments")
        overlay = environments.get(env) if isinstance(environments, dict) else None
        if not isinstance(overlay, dict):
            return None  # validation reports it (or says which environments there are)
        document, _ = merge(document, overlay, ("environments", env))
    apps = document.get("apps")
    spec = apps.get(app) if isinstance(apps, dict) else None
    if not isinstance(spec, dict) or "build" in spec:
        return None
    build_dir = spec.get("build_dir")
    exclude = _exclude(spec, document.get("defaults"))
    if not _plain(build_dir) or exclude is None:
        return None
    root = path.resolve().parent
    resolved = root / build_dir
    own = own_state_pattern(root, resolved)
    return BuildDir(root, resolved, (*exclude, own) if own else exclude)


def own_state_pattern(root: Path, build_dir: Path) -> str | None:
    """The exclude pattern for comwit's own .comwit/ directory when it lies inside the build
    dir: its caches change between digesting and packing, and are never part of an app."""
    inside = os.path.relpath(root, os.path.normpath(build_dir))
    if inside == ".." or inside.startswith(".." + os.sep):
        return None
    return "/.comwit/" if inside == "." else f"/{Path(inside).as_posix()}/.comwit/"


def _document(path: Path) -> dict[str, Any] | None:
    """The parsed TOML, if `load_manifest` would get as far as validating it."""
    try:
        raw = path.read_bytes()
    except (OSError, ValueError):
        return None
    if len(raw) > MAX_BYTES:
        return None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
        if overflow(text) is not None:
            return None
        document = tomllib.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and TOMLDecodeError among them
        return None
    return None if too_deep(document) is not None else document


def _is_version_1(value: object) -> bool:
    return type(value) is int and value == 1


def _exclude(spec: dict[str, Any], defaults: object) -> tuple[str, ...] | None:
    """The app's patterns, else [defaults]' (as `load_manifest` picks them); None if any
    is not a string validation would accept as it is."""
    patterns = spec.get("exclude")
    if patterns is None:
        if defaults is None:
            return ()
        if not isinstance(defaults, dict):
            return None
        patterns = defaults.get("exclude", [])
    if not isinstance(patterns, list) or not all(_plain(p) for p in patterns):
        return None
    return tuple(patterns)


def _plain(value: object) -> TypeGuard[str]:
    """A string validation keeps exactly as it is: not blank, no NUL, nothing that looks
    like a `${VAR}` template."""
    return isinstance(value, str) and bool(value.strip()) and "\0" not in value and "$" not in value
