"""`comwit init`: write a starter comwit.toml here, keep `.comwit/` out of git, say what next."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.connect import emulator_dir
from comwit.cli.settings import API_WITHOUT_MANIFEST, INCLUDE, VERBOSITY, Settings, command
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_OK
from comwit.manifest import DEFAULT_FILE
from comwit.manifest.starter import (
    KeptInGit,
    find_build_dirs,
    ignore_state_dir,
    render_starter,
)
from comwit.store.files import write_text


@command(API_WITHOUT_MANIFEST, INCLUDE, VERBOSITY)
def init(
    settings: Settings,
    from_project: Annotated[
        bool,
        typer.Option(
            "--import", help="Describe the project's existing apps (as `comwit import` does)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> int:
    """Write a starter comwit.toml from the build dirs found here, or from the project's apps.

    Also adds `.comwit/` (comwit's caches, the embedded emulator's state) to .gitignore.
    """
    console, root = settings.console, Path.cwd()
    path = root / DEFAULT_FILE
    if (path.exists() or path.is_symlink()) and not force:  # a dangling link is kept too
        raise ComwitError(f"{DEFAULT_FILE} already exists here; pass --force to overwrite it")
    project = settings.chosen_project()
    found = find_build_dirs(root)
    if from_project:
        text, names = _imported(settings, project, {app.name: app.build_dir for app in found})
    else:
        text, names = render_starter(project, found), [app.name for app in found]
    write_text(path, text)
    what = f"{len(names)} app{'s' if len(names) != 1 else ''} ({', '.join(names)})"
    console.info(f"Wrote {DEFAULT_FILE}: {what}." if names else f"Wrote {DEFAULT_FILE}.")
    try:
        if ignore_state_dir(root):
            console.info("Added .comwit/ to .gitignore (comwit's caches and local state).")
    except KeptInGit as exc:
        console.warn(str(exc))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, UnicodeDecodeError):
            why = "not UTF-8 text"
        console.warn(f"could not add .comwit/ to .gitignore ({why}); add that line yourself")
    console.info(f"Next: {_next_step(text, project)}")
    return EXIT_OK


def _imported(
    settings: Settings, project: str | None, build_dirs: dict[str, str]
) -> tuple[str, list[str]]:
    from comwit.cli.import_cmd import read_apps
    from comwit.render.manifest_toml import render_manifest

    if not project:
        raise ComwitError("--import needs a project: pass --project or set COMWIT_PROJECT")
    where = "run init where the apps were applied from"
    apps = asyncio.run(read_apps(settings, project, emulator_dir(Path.cwd()), elsewhere=where))
    apps = [dataclasses.replace(app, build_dir=build_dirs.get(app.name)) for app in apps]
    return render_manifest(project, apps), [app.name for app in apps]


def _next_step(text: str, project: str | None) -> str:
    steps = []
    if "TODO/" in text:
        steps.append("replace each TODO build_dir")
    if not project:
        steps.append('set project = "..." in comwit.toml')
    steps.append("run `comwit validate`, then `comwit plan`")
    return "; ".join(steps) + "."
