"""Checks that need the machine, not just the file: build dirs exist, ${VAR}s are set.

`validate` runs them; `plan` runs them before touching the network.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from comwit.errors import ManifestError, Problem
from comwit.manifest.interpolate import Interpolated, MissingVariableError, interpolate
from comwit.manifest.load import LoadedManifest


def build_dir_problems(
    loaded: LoadedManifest, names: Collection[str] | None = None
) -> list[Problem]:
    """Every app's (or the named apps') build_dir must exist and be a directory."""
    problems = []
    for name, app in loaded.apps.items():
        if app.build_dir is None or (names is not None and name not in names):
            continue
        message = _build_dir_problem(app.build_dir)
        if message:
            problems.append(loaded.source.problem(("apps", name, "build_dir"), message))
    return problems


def _build_dir_problem(build_dir: Path) -> str | None:
    try:
        if not build_dir.exists():
            return f"build directory {build_dir} does not exist; build the app first"
        if not build_dir.is_dir():
            return f"{build_dir} is not a directory; point build_dir at the built output"
    except ValueError:  # a NUL character: no file system takes it
        return "is not a usable path (it holds a NUL character); fix build_dir"
    except OSError as exc:  # e.g. a name longer than the file system allows
        return f"is not a usable path ({exc.strerror}); fix build_dir"
    return None


def resolve_env(
    loaded: LoadedManifest, environ: Mapping[str, str], names: Collection[str] | None = None
) -> dict[str, dict[str, Interpolated]]:
    """Each app's env vars with ${VAR} filled in; ManifestError names every missing variable."""
    resolved: dict[str, dict[str, Interpolated]] = {}
    problems = []
    for name, app in loaded.apps.items():
        if app.env is None or (names is not None and name not in names):
            continue
        values = resolved.setdefault(name, {})
        for key, template in app.env.items():
            try:
                values[key] = interpolate(template, environ)
            except MissingVariableError as exc:
                problems.append(loaded.source.problem(("apps", name, "env", key), str(exc)))
    if problems:
        raise ManifestError(problems)
    return resolved


def check_machine(
    loaded: LoadedManifest, environ: Mapping[str, str], names: Collection[str] | None = None
) -> dict[str, dict[str, Interpolated]]:
    """The resolved env values; one ManifestError for every build-dir and ${VAR} problem."""
    problems = build_dir_problems(loaded, names)
    try:
        resolved = resolve_env(loaded, environ, names)
    except ManifestError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ManifestError(problems)
    return resolved
