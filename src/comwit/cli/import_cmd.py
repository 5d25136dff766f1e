"""`comwit import`: write a comwit.toml describing the existing apps of a project."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from comwit.api.assumed import APP_NAME
from comwit.api.connect import emulator_dir
from comwit.api.credentials import LOCAL, resolve_api_url
from comwit.api.models import App
from comwit.cli.session import connect_project
from comwit.cli.settings import API_WITHOUT_MANIFEST, INCLUDE, VERBOSITY, Settings, command
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.escape import cut_path, quoted
from comwit.exit_codes import EXIT_OK
from comwit.manifest import DEFAULT_FILE
from comwit.manifest.hostname import normalize_hostname
from comwit.observe import observe
from comwit.plan.desired import split_patterns
from comwit.plan.state import ObservedApp
from comwit.render.manifest_toml import ImportedApp, render_manifest
from comwit.store.files import write_text
from comwit.store.ledger import AppEnvStore

STDOUT = "-"
_ELSEWHERE = "run this where the apps were applied from, or write the manifest there with -o"


@command(API_WITHOUT_MANIFEST, INCLUDE, VERBOSITY)
def import_(
    settings: Settings,
    out: Annotated[
        str, typer.Option("--out", "-o", help="The manifest to write; '-' for stdout.")
    ] = DEFAULT_FILE,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> int:
    """Write a comwit.toml for the project's existing apps (hostnames, env vars)."""
    console = settings.console
    chosen = settings.chosen_project()
    if not chosen:
        raise ComwitError(
            "no project: pass --project, set COMWIT_PROJECT, "
            "or set a default project with the official comwit CLI"
        )
    path = None if out == STDOUT else Path(out)
    if path is not None:
        _check_out(path, force=force)
    here = Path.cwd() if path is None else path.absolute().parent
    apps = asyncio.run(read_apps(settings, chosen, emulator_dir(here)))
    text = render_manifest(chosen, apps)
    if path is None:
        console.print(text.rstrip("\n"))
    else:
        write_text(path, text, hint="pick another -o FILE")
        console.info(f"Wrote {path}: {_names(apps)}; replace each build_dir placeholder.")
    with_env = [each.name for each in apps if each.env]
    if with_env:
        where = "the manifest written to stdout" if path is None else str(path)
        console.warn(
            f"{where} holds the env values of {', '.join(with_env)} as the API returned them; "
            "review it before committing it"
        )
    return EXIT_OK


def _check_out(path: Path, *, force: bool) -> None:
    """Refuse an -o that names a directory, or an existing file without --force, before the
    API is asked anything; a name the system refuses (too long) is said the same way."""
    shown = cut_path(path)
    try:
        if path.is_dir():
            raise ComwitError(f"{shown} is a directory; pass the file to write with -o FILE")
        exists = path.exists() or path.is_symlink()  # a dangling link is a file to keep too
    except OSError as exc:
        raise ComwitError(f"cannot write {shown} ({exc.strerror}); pick another -o FILE") from None
    if exists and not force:
        raise ComwitError(f"{shown} already exists; pass --force to overwrite it")


async def read_apps(
    settings: Settings, project: str, emulator: Path, *, elsewhere: str = _ELSEWHERE
) -> list[ImportedApp]:
    """The project's apps (those --app selects) as a manifest would describe them;
    `elsewhere`: what to do when the local emulator has no state in `emulator`."""
    console = settings.console
    if resolve_api_url(settings.api_url, settings.environ) == LOCAL and not emulator.exists():
        raise ComwitError(  # starting it would make a new, empty state: nothing to import
            f"the local emulator has no state in {cut_path(emulator)} (--api-url local keeps "
            f"it next to the manifest): {elsewhere}"
        )
    fix = "pass --project or set COMWIT_PROJECT"
    async with connect_project(settings, project, emulator, fix=fix) as connection:
        listed = await connection.client.list_apps(project)
        names = _select(project, listed, settings.include, console)
        # Read-only: the ledger tells the live build's options and excludes, and the facts.
        ledgers = AppEnvStore(None, project)
        observation = await observe(connection.client, project, names, ledgers)
    found = observation.state.apps
    return [_imported(found[name], console) for name in names if name in found]


def _select(
    project: str, listed: Sequence[App], include: Sequence[str], console: Console
) -> list[str]:
    names = sorted(each.name for each in listed)
    include = split_patterns(include)
    for pattern in include:
        if not fnmatch.filter(names, pattern):
            known = ", ".join(names) or "none"
            raise ComwitError(
                f"--app {quoted(pattern)} matches no app in project {project} ({known})"
            )
    chosen = [
        each
        for each in sorted(listed, key=lambda a: a.name)
        if not include or any(fnmatch.fnmatchcase(each.name, p) for p in include)
    ]
    valid = [each for each in chosen if APP_NAME.fullmatch(each.name)]
    for each in chosen:
        if each not in valid:
            console.warn(
                f"skipping app {quoted(each.name)}: a manifest app name is 1-63 lower-case "
                "letters, digits and '-'"
            )
    if not valid:
        raise ComwitError(f"project {project} has no app to import")
    return [each.name for each in valid]


def _imported(app: ObservedApp, console: Console) -> ImportedApp:
    live = app.ledger.get(app.active_build_id)
    facts = app.ledger.facts
    return ImportedApp(
        name=app.name,
        hosts=tuple(_hosts(app.name, [host.name for host in app.hosts], console)),
        env=app.env,
        env_ref=live.env_ref if live else None,
        max_concurrent_requests=live.max_concurrent_requests if live else None,
        exclude=live.exclude if live else (),
        managed_hosts=frozenset(facts.managed_hosts),
        protect=facts.protect,
    )


def _hosts(app: str, names: Sequence[str], console: Console) -> list[str]:
    kept = []
    for name in names:
        try:
            kept.append(normalize_hostname(name))
        except ValueError as exc:
            console.warn(f"app {quoted(app)}: skipping hostname {quoted(name)}: {exc}")
    return kept


def _names(apps: Sequence[ImportedApp]) -> str:
    count = len(apps)
    return f"{count} app{'s' if count != 1 else ''} ({', '.join(a.name for a in apps)})"
