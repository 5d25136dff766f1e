"""Where the ledger lives: `app-env` (an env var of each app) or `local` (a JSON file).

Reading never fails: an unreadable or foreign value is a warning and counts as empty.
Writing goes through the API (app-env, needs `app:write`) or to the file, atomically.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
from pathlib import Path
from typing import Any, Protocol

from comwit.api.client import ComwitClient
from comwit.plan.ledger import (
    LEDGER_ENV_KEY,
    AppLedger,
    LedgerFormatError,
    decode,
    encode,
    from_document,
    to_document,
)
from comwit.plan.state import ObservedApp
from comwit.store.files import write_atomically

LOCAL_VERSION = 1


class LedgerReader(Protocol):
    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        """The app's ledger, and a warning when it could not be read."""


class LedgerStore(LedgerReader, Protocol):
    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None: ...


class AppEnvStore:
    """The ledger in the env var COMWIT_LEDGER of each app: shared by every CI run."""

    def __init__(self, client: ComwitClient | None, project: str) -> None:
        self._client = client
        self._project = project

    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        if env_value is None:
            return AppLedger(), None
        try:
            return decode(env_value), None
        except LedgerFormatError as exc:
            return AppLedger(), _unreadable(app.name, f"env var {LEDGER_ENV_KEY}", exc)

    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None:
        del app
        if self._client is None:
            raise RuntimeError("this ledger store was opened read-only")
        await self._client.put_env(self._project, app_id, LEDGER_ENV_KEY, encode(ledger))


class LocalStore:
    """The ledger in a JSON file: {"version": 1, "projects": {project: {app_id: ledger}}}."""

    def __init__(self, path: Path, project: str) -> None:
        self._path = path
        self._project = project
        self._lock = asyncio.Lock()
        self._apps, self._warning = _read_file(path, project)

    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        del env_value
        if self._warning:
            return AppLedger(), f"ledger of app {app.name!r}: {self._warning}"
        document = self._apps.get(app.app_id)
        if document is None:
            return AppLedger(), None
        try:
            return from_document(document), None
        except LedgerFormatError as exc:
            return AppLedger(), _unreadable(app.name, str(self._path), exc)

    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None:
        del app
        async with self._lock:
            self._apps[app_id] = to_document(ledger)
            await asyncio.to_thread(self._save, app_id)

    def _save(self, app_id: str) -> None:
        """Merge this app's entry into the file as it is now, under a lock: other comwit runs
        may be writing other apps' entries at the same time."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.with_name(self._path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            projects = _projects(self._path)
            apps = projects.get(self._project)
            apps = dict(apps) if isinstance(apps, dict) else {}
            apps[app_id] = self._apps[app_id]
            projects[self._project] = dict(sorted(apps.items()))
            document = {"version": LOCAL_VERSION, "projects": projects}
            write_atomically(self._path, json.dumps(document, indent=1, sort_keys=True) + "\n")


def _projects(path: Path) -> dict[str, Any]:
    """The file's projects table; a missing, unreadable or foreign file gives an empty one."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    projects = loaded.get("projects") if isinstance(loaded, dict) else None
    return dict(projects) if isinstance(projects, dict) else {}


def _read_file(path: Path, project: str) -> tuple[dict[str, Any], str | None]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"cannot read {path} ({exc.strerror}); treating it as empty"
    try:
        document = json.loads(text)
        apps = document["projects"].get(project, {})
        if not isinstance(apps, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}, f"{path} is not a comwit ledger file; treating it as empty"
    return dict(apps), None


def _unreadable(app: str, where: str, exc: Exception) -> str:
    return f"ledger of app {app!r} in {where} is unreadable ({exc}); treating it as empty"
