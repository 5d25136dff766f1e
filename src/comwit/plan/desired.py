"""Desired state: the selected apps of a loaded manifest, with digests and resolved env values."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from comwit.artifact.tree import TreeDigest
from comwit.errors import PlanError
from comwit.escape import quoted
from comwit.plan.state import (
    DNS_MODES,
    BuildDir,
    DesiredApp,
    DesiredHost,
    DesiredState,
    EnvValue,
    Options,
    PinnedBuild,
)

if TYPE_CHECKING:  # values of a loaded manifest, not the code that loads one
    from comwit.manifest import AppConfig, LoadedManifest
    from comwit.manifest.interpolate import Interpolated


def select_apps(
    loaded: LoadedManifest, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[AppConfig]:
    """The apps matching any `--app` glob (all when none) and no `--exclude-app` glob."""
    include, exclude = split_patterns(include), split_patterns(exclude, "--exclude-app")
    names = list(loaded.apps)
    for pattern in include:
        if not fnmatch.filter(names, pattern):
            raise PlanError(
                f"--app {quoted(pattern)} matches no app in the manifest (apps: {', '.join(names)})"
            )
    chosen = [
        app
        for name, app in loaded.apps.items()
        if (not include or any(fnmatch.fnmatchcase(name, p) for p in include))
        and not any(fnmatch.fnmatchcase(name, p) for p in exclude)
    ]
    if not chosen:
        raise PlanError("--app / --exclude-app leave no app to plan")
    return chosen


def split_patterns(patterns: Sequence[str], flag: str = "--app") -> list[str]:
    """`--app a,b` means `--app a --app b` (app names cannot hold a comma). A value with no
    name in it (`--app ,`, as `--app "$CHANGED"` gives when a list came out empty) is refused:
    taken as no filter, it would have planned every app."""
    split = []
    for each in patterns:
        parts = [part.strip() for part in each.split(",") if part.strip()]
        if not parts:
            raise PlanError(
                f"{flag} {quoted(each)} names no app; pass {flag} NAME or leave the option out"
            )
        split += parts
    return split


def desired_state(
    project: str,
    apps: Sequence[AppConfig],
    *,
    env: Mapping[str, Mapping[str, Interpolated]],
    trees: Mapping[str, TreeDigest],
    environment: str | None = None,
    root: Path = Path(),
) -> DesiredState:
    """What the manifest wants for `apps`, given their tree digests and resolved env values."""
    return DesiredState(
        project=project,
        environment=environment,
        apps=tuple(_desired_app(app, env.get(app.name), trees.get(app.name), root) for app in apps),
    )


def _desired_app(
    app: AppConfig, env: Mapping[str, Interpolated] | None, tree: TreeDigest | None, root: Path
) -> DesiredApp:
    if app.build is not None:
        source: BuildDir | PinnedBuild = PinnedBuild(app.build)
    else:
        assert app.build_dir is not None and tree is not None
        source = BuildDir(
            path=app.build_dir,
            digest=tree.digest,
            relative=Path(os.path.relpath(app.build_dir, root)).as_posix(),
            exclude=app.exclude,
            total_size=tree.total_size,
        )
    return DesiredApp(
        name=app.name,
        source=source,
        options=Options(app.env_ref, app.max_concurrent_requests),
        hosts=tuple(DesiredHost(h.name, DNS_MODES[h.dns]) for h in app.hosts),
        env=None
        if app.env is None
        else {k: EnvValue(v.value, v.sensitive) for k, v in (env or {}).items()},
        protect=app.protect,
    )
