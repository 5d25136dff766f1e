"""Where the ledger lives: `app-env` (an env var of each app) or `local` (a JSON file).

Reading never fails: an unreadable or foreign value is a warning and counts as empty.
Writing goes through the API (app-env, needs `app:write`) or to the file, atomically. An
update reads the ledger just before writing, applies its change to what is there (so another
run's entries are kept), then reads it back to verify the change is in; it tries again when
another write came in between. A local file that is there but cannot be read is never
written over: that would drop every other app's and project's records (LedgerFileError).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from comwit.api.client import ComwitClient
from comwit.errors import ApplyError
from comwit.escape import one_line, quoted
from comwit.plan import LEDGER_ENV_KEY
from comwit.plan.ledger import (
    AppLedger,
    LedgerFormatError,
    NewerLedger,
    decode,
    encode,
    from_document,
    to_document,
)
from comwit.plan.state import ObservedApp
from comwit.store.files import locked, write_atomically
from comwit.store.regular import read_bounded

LOCAL_VERSION = 1
UPDATE_ATTEMPTS = 3
MAX_FILE_BYTES = 1 << 30  # far more than 500 builds of thousands of apps; not read past it
LOCAL_FIX = (
    "move it away (the next apply starts a new one) or point [state] path in comwit.toml "
    "at the ledger file"
)
Change = Callable[[AppLedger], AppLedger]
Check = Callable[[AppLedger], bool]
_T = TypeVar("_T")


class LedgerReader(Protocol):
    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        """The app's ledger, and a warning when it could not be read."""


class LedgerStore(LedgerReader, Protocol):
    @property
    def goes_with_app(self) -> bool:
        """Whether an app's ledger is deleted with the app (its env var), leases and all."""

    def check_writable(self) -> None:
        """LedgerFileError when writing would drop records this store could not read."""

    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None: ...

    async def load(self, app: str, app_id: str) -> AppLedger:
        """The app's ledger as it is stored now (unreadable: empty)."""

    async def update(
        self, app: str, app_id: str, change: Change, check: Check | None = None
    ) -> AppLedger:
        """Apply `change` to the stored ledger and verify it with `check` (default: applying
        the change again to the ledger read back changes nothing); the ledger as read back.
        LedgerWriteError when other writes kept coming in between."""


class LedgerWriteError(OSError):
    """The ledger could not be updated: other writes kept replacing this one."""


class NewerLedgerError(ApplyError):
    """The app's ledger was written by a newer comwit: this one changes nothing of the app
    (its lease would not be seen, its records would be lost), whatever else it does."""


class LedgerFileError(ApplyError):
    """A file of ledger records is there but cannot be read (`reason`, after its path):
    writing it would drop the records it holds, so comwit writes nothing to it."""

    def __init__(self, path: Path, reason: str, fix: str = "") -> None:
        self.path, self.reason = path, reason
        super().__init__(
            f"{one_line(str(path))} {reason}; comwit wrote nothing to it, as that would drop "
            f"the records it holds: {fix or LOCAL_FIX}"
        )


async def _update(
    store: LedgerStore,
    app: str,
    app_id: str,
    change: Change,
    check: Check | None,
    write: Callable[[AppLedger], Any],
) -> AppLedger:
    for _ in range(UPDATE_ATTEMPTS):
        current = await store.load(app, app_id)
        wanted = change(current)
        if wanted != current:
            await write(wanted)
        back = await store.load(app, app_id)
        # Verified when the change is in: applying it again would change nothing.
        if (check or (lambda ledger: change(ledger) == ledger))(back):
            return back
    raise LedgerWriteError(
        f"the ledger of app {app!r} was changed by another run each time this one wrote it "
        f"({UPDATE_ATTEMPTS} tries)"
    )


class AppEnvStore:
    """The ledger in the env var COMWIT_LEDGER of each app: shared by every CI run."""

    goes_with_app = True

    def __init__(self, client: ComwitClient | None, project: str) -> None:
        self._client = client
        self._project = project

    def check_writable(self) -> None:
        """Each app's ledger is its own env var: no write drops another app's records."""

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

    async def load(self, app: str, app_id: str) -> AppLedger:
        if self._client is None:
            raise RuntimeError("this ledger store was opened read-only")
        variables = await self._client.list_env(self._project, app_id)
        value = next((v.value for v in variables if v.key == LEDGER_ENV_KEY), None)
        return _or_empty(decode, value, app)

    async def update(
        self, app: str, app_id: str, change: Change, check: Check | None = None
    ) -> AppLedger:
        async def write(ledger: AppLedger) -> None:
            await self.write(app, app_id, ledger)

        return await _update(self, app, app_id, change, check, write)


class LocalStore:
    """The ledger in a JSON file: {"version": 1, "projects": {project: {app_id: ledger}}}."""

    goes_with_app = False

    def __init__(self, path: Path, project: str) -> None:
        self._path = path
        self._project = project
        self._lock = asyncio.Lock()
        self._apps: dict[str, Any] = {}
        self._unreadable: LedgerFileError | None = None
        try:
            self._apps = apps_of(read_table(path), project, path)
        except LedgerFileError as exc:
            self._unreadable = exc

    def check_writable(self) -> None:
        """LedgerFileError when the file was there but could not be read."""
        if self._unreadable is not None:
            raise self._unreadable

    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        del env_value
        if self._unreadable is not None:
            why = f"{self._path} {self._unreadable.reason}; treating it as empty"
            return AppLedger(), f"ledger of app {app.name!r}: {why}"
        document = self._apps.get(app.app_id)
        if document is None:
            return AppLedger(), None
        try:
            return from_document(document), None
        except LedgerFormatError as exc:
            return AppLedger(), _unreadable(app.name, str(self._path), exc)

    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None:
        async with self._lock:
            await asyncio.to_thread(self._save, app, app_id, lambda _: ledger)

    async def load(self, app: str, app_id: str) -> AppLedger:
        document = (await asyncio.to_thread(read_projects, self._path)).get(self._project)
        entry = document.get(app_id) if isinstance(document, dict) else None
        return _or_empty(from_document, entry, app)

    async def update(
        self, app: str, app_id: str, change: Change, check: Check | None = None
    ) -> AppLedger:
        async def write(ledger: AppLedger) -> None:
            del ledger  # the change is applied again to the file as it is under the lock
            async with self._lock:
                await asyncio.to_thread(self._save, app, app_id, change)

        return await _update(self, app, app_id, change, check, write)

    def _save(self, app: str, app_id: str, change: Change) -> None:
        """Apply `change` to this app's entry as the file has it now, under a lock: other
        comwit runs may be writing this or other apps' entries at the same time. A file that
        cannot be read is left as it is (LedgerFileError)."""
        with locked(self._path):
            projects = read_table(self._path)
            apps = apps_of(projects, self._project, self._path)
            now = _or_empty(from_document, apps.get(app_id), app)
            self._apps[app_id] = apps[app_id] = to_document(change(now))
            projects[self._project] = dict(sorted(apps.items()))
            document = {"version": LOCAL_VERSION, "projects": projects}
            write_atomically(self._path, json.dumps(document, indent=1, sort_keys=True) + "\n")


def _or_empty(read: Callable[[_T], AppLedger], stored: _T | None, app: str) -> AppLedger:
    """The ledger `stored` holds, to be changed; none, or one that cannot be read, is an
    empty ledger. One of a newer comwit is NewerLedgerError: replacing it would lose what it
    holds (its runs' lease among them)."""
    if stored is None:
        return AppLedger()
    try:
        return read(stored)
    except NewerLedger as exc:
        raise NewerLedgerError(
            f"the ledger of app {quoted(app)} was written by a newer comwit ({exc}): "
            "upgrade comwit to change this app"
        ) from None
    except LedgerFormatError:
        return AppLedger()


def read_projects(path: Path) -> dict[str, Any]:
    """The projects table of a ledger file, to read only: a missing, unreadable, too large or
    foreign file gives an empty one (a write reads it with `read_table`)."""
    try:
        return read_table(path)
    except LedgerFileError:
        return {}


def read_table(path: Path, fix: str = "") -> dict[str, Any]:
    """The projects table of a file of comwit's, {} when there is no file; LedgerFileError
    (with `fix`, what to do) when it is there but unreadable, too large or not comwit's."""
    try:
        data = read_bounded(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise LedgerFileError(path, f"cannot be read ({exc.strerror})", fix) from None
    except ValueError as exc:  # larger than the limit
        raise LedgerFileError(path, f"is {exc}", fix) from None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None
    projects = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(projects, dict):
        raise LedgerFileError(path, "is not a comwit ledger file", fix)
    return dict(projects)


def apps_of(projects: dict[str, Any], project: str, path: Path, fix: str = "") -> dict[str, Any]:
    """The project's table by app id in the projects table of the file at `path`; one that
    is not a table is LedgerFileError (with `fix`)."""
    apps = projects.get(project, {})
    if not isinstance(apps, dict):
        raise LedgerFileError(path, "is not a comwit ledger file", fix)
    return dict(apps)


def _unreadable(app: str, where: str, exc: Exception) -> str:
    if isinstance(exc, NewerLedger):
        return (
            f"ledger of app {app!r} in {where} was written by a newer comwit ({exc}); this "
            "comwit plans the app "
            "as if it knew nothing of it, and will not change it: upgrade comwit"
        )
    return f"ledger of app {app!r} in {where} is unreadable ({exc}); treating it as empty"
