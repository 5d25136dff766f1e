"""Checks that need the machine, not just the file: build dirs exist, ${VAR}s are set.

`validate` runs them; `plan` runs them before touching the network (and walks the build
dirs while digesting them). Both report a build dir's problem at its `build_dir` line.
"""

from __future__ import annotations

import stat
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from comwit.artifact.walk import walk
from comwit.errors import ArtifactError, ComwitError, ManifestError, Problem, os_reason
from comwit.escape import quoted
from comwit.manifest.find import repository_root
from comwit.manifest.interpolate import Interpolated, MissingVariableError, interpolate
from comwit.manifest.load import LoadedManifest
from comwit.manifest.overlay import origin_of
from comwit.store.regular import NotRegularFile


def build_dir_problems(
    loaded: LoadedManifest, names: Collection[str] | None = None, *, walk_trees: bool = False
) -> list[Problem]:
    """Every app's (or the named apps') build_dir must exist and be a directory; with
    `walk_trees`, also hold something to pack and nothing unsafe (what digesting checks)."""
    problems = []
    for name, app in loaded.apps.items():
        if app.build_dir is None or (names is not None and name not in names):
            continue
        message = _build_dir_problem(app.build_dir)
        if message is None and not app.allow_outside_repo:
            message = _outside_problem(app.build_dir, repository_root(loaded.root))
        if message is None and walk_trees:
            message = _walk_problem(app.build_dir, app.exclude)
        if message:
            problems.append(build_dir_problem(loaded, name, message))
    return problems


def build_dir_problem(loaded: LoadedManifest, app: str, message: str) -> Problem:
    """A build dir problem, at the app's `build_dir` line of the manifest."""
    return loaded.source.problem(("apps", app, "build_dir"), message)


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


def _walk_problem(build_dir: Path, exclude: Sequence[str]) -> str | None:
    """What digesting would refuse: nothing to pack, unsafe or unreadable entries."""
    try:
        walk(build_dir, exclude)
    except ArtifactError as exc:
        return str(exc)
    return None


def _outside_problem(build_dir: Path, top: Path) -> str | None:
    """A build dir that resolves (symlinks followed) outside the repository: a one-line
    change in a pull request could otherwise publish any directory of the CI machine."""
    real = build_dir.resolve()
    if real.is_relative_to(top):
        return None
    shown = str(build_dir) if real == build_dir else f"{build_dir} (it resolves to {real})"
    return (
        f"build directory {shown} is outside the repository {top}, and a change to this "
        "line could then publish any directory of this machine; build into the repository, "
        "or set allow_outside_repo = true for this app"
    )


def state_problems(loaded: LoadedManifest) -> list[Problem]:
    """The local ledger's file (backend = "local") must be one comwit can read and replace:
    apply found out only after its changes were made that it could record none of them."""
    path = loaded.state.path
    if path is None:
        return []
    message = _state_problem(path) or _state_place_problem(loaded, path)
    return [loaded.source.problem(("state", "path"), message)] if message else []


# What comwit keeps in .comwit/ for itself: a ledger file there would be overwritten or read
# as something else.
_OWN = frozenset(
    {"pending-ledger.json", "pending-ledger.json.lock", "stat", "trees", "tmp", "emulator"}
)


def _state_place_problem(loaded: LoadedManifest, path: Path) -> str | None:
    """A ledger file in an app's build dir (deployed with it, so no plan is ever without
    changes) or on one of comwit's own files in .comwit/ (the ledger lost to them)."""
    try:
        where = path.parent.resolve() / path.name
        own = (loaded.root / ".comwit").resolve()
    except (OSError, RuntimeError):
        return None  # the write itself says why
    if own in where.parents and where.relative_to(own).parts[0] in _OWN:
        inner = where.relative_to(own.parent).as_posix()
        return f"{inner} is one of comwit's own files; point state.path at another file"
    name = build_dir_taking(loaded, path)
    if name is not None:
        return (
            f"{path} is inside the build dir of app {name}, which would deploy the ledger "
            "with it (and every plan would find it changed); point state.path elsewhere, "
            "e.g. .comwit/state.json"
        )
    return None


def build_dir_taking(loaded: LoadedManifest, path: Path) -> str | None:
    """The app whose build dir's walk would take in a file comwit writes at `path` (a saved
    plan, a result, the ledger file), so that the next plan deploys it; None when there is
    none, or the walk leaves it out (`.comwit/plan.json` beside a `build_dir = "."`)."""
    from comwit.artifact.walk import Walker

    try:
        where = path.parent.resolve() / path.name
    except (OSError, RuntimeError):
        return None  # the write itself says why
    for name, app in sorted(loaded.apps.items()):
        if app.build_dir is None:
            continue
        try:
            walk = Walker(app.build_dir, app.exclude)
        except ComwitError:  # a build dir or patterns that are a problem of their own
            continue
        if walk.root in where.parents and not walk.leaves_out(where):
            return name
    return None


def _state_problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except ValueError:  # a NUL character: no file system takes it
        return "holds a NUL character, which no file name can; fix state.path"
    except FileNotFoundError:
        return None  # the first apply makes it
    except OSError as exc:  # a name too long, a parent that is a file
        return f"{path} cannot be used ({os_reason(exc)}); fix state.path"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory; point state.path at a JSON file"
    if not stat.S_ISREG(mode):
        return f"{path} {NotRegularFile(path, mode).reason}; point state.path at a JSON file"
    return None


def resolve_env(
    loaded: LoadedManifest,
    environ: Mapping[str, str],
    names: Collection[str] | None = None,
    *,
    missing: list[Problem] | None = None,
) -> dict[str, dict[str, Interpolated]]:
    """Each app's env vars with ${VAR} filled in; ManifestError names every missing variable,
    unless `missing` is given: then they are added to it and left out of the result."""
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
    if missing is not None:
        missing.extend(problems)
    elif problems:
        raise ManifestError(problems)
    return resolved


def check_machine(
    loaded: LoadedManifest,
    environ: Mapping[str, str],
    names: Collection[str] | None = None,
    *,
    walk_trees: bool = False,
    missing: list[Problem] | None = None,
) -> dict[str, dict[str, Interpolated]]:
    """The resolved env values; one ManifestError for every build-dir, ledger-file and ${VAR}
    problem (unset variables go to `missing` instead, when given)."""
    problems = build_dir_problems(loaded, names, walk_trees=walk_trees) + state_problems(loaded)
    try:
        resolved = resolve_env(loaded, environ, names, missing=missing)
    except ManifestError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ManifestError(problems)
    return resolved


def inherited_hosts(base: LoadedManifest, loaded: LoadedManifest) -> list[Problem]:
    """Warnings: an environment of another project whose apps inherit the top level's
    hostnames. A hostname belongs to one app at a time, so one of the two projects' applies
    would fail with a 409 (conflict) on attach."""
    if loaded.env is None or loaded.project is None or loaded.project == base.project:
        return []
    overlay = ("environments", loaded.env)
    warnings = []
    for name, app in loaded.apps.items():
        field = ("apps", name, "hosts")
        if not app.hosts or origin_of(field, loaded.source.origins)[:2] == overlay:
            continue
        hosts = ", ".join(host.name for host in app.hosts)
        message = (
            f"environment {quoted(loaded.env)} (project {loaded.project}) inherits these hostnames "
            f"({hosts}); a hostname is attached to one app at a time, so the apply of one "
            f"project fails with a conflict: set [environments.{loaded.env}.apps.{name}] "
            "hosts (hosts = [] for none)"
        )
        warnings.append(loaded.source.problem(field, message))
    return warnings
