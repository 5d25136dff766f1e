"""Ledger records comwit could not write yet, kept in `.comwit/pending-ledger.json`.

Apply keeps each record here just before writing it to the ledger and drops it once the
write is verified. When the write fails (after its retries), or the run is killed in
between, the record stays: the next run merges it into the ledger it reads (so the plan
neither uploads that content again nor calls the build "changed outside comwit") and apply
writes it first. The file: {"version": 1, "projects": {project: {app_id: [record, ...]}}}.
A command reads it once (and again before completing records it found); a file there that
cannot be read is never written over (LedgerFileError).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from comwit.api.retry import Pacing, RetryPolicy, with_retries
from comwit.errors import ApiError, UnexpectedStatusError
from comwit.plan.ledger import AppLedger
from comwit.plan.recording import Recording, from_document, to_document
from comwit.plan.state import ObservedApp
from comwit.store.files import locked, write_atomically
from comwit.store.ledger import (
    Change,
    Check,
    LedgerFileError,
    LedgerStore,
    apps_of,
    read_table,
)

FILE_VERSION = 1
# The ledger write itself is retried by the client on 502, 429 and lost connections; a
# server error the client does not retry (500, 503, 504) gets these tries on top.
LEDGER_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=2.0, budget=10.0)
_FIX = "move it away (it holds only ledger records an earlier apply could not write yet)"


class PendingLedgers:
    """The pending records of one project, in one file shared by every run on this machine."""

    def __init__(self, path: Path, project: str) -> None:
        self.path = path
        self._project = project
        self._read: dict[str, Any] | None = None  # the project's records as last read or written
        self._unreadable: LedgerFileError | None = None

    def records(self, app_id: str) -> list[Recording]:
        """The app's pending records, oldest first, as the file held them when this run last
        read or wrote it; unreadable ones are left out."""
        found = []
        for document in _list(self._apps().get(app_id)):
            try:
                found.append(from_document(document))
            except ValueError:
                continue
        return found

    def any(self) -> bool:
        """Whether the file held records of this project when this run last read or wrote it."""
        return any(_list(records) for records in self._apps().values())

    def read_again(self) -> None:
        """Forget the file as read: the next question reads it again."""
        self._read = self._unreadable = None

    def check_writable(self) -> None:
        """LedgerFileError when the file is there but could not be read."""
        self._apps()
        if self._unreadable is not None:
            raise self._unreadable

    def add(self, app_id: str, recording: Recording) -> None:
        document = to_document(recording)
        self._edit(app_id, lambda kept: kept if document in kept else [*kept, document])

    def remove(self, app_id: str, recording: Recording) -> None:
        document = to_document(recording)
        self._edit(app_id, lambda kept: [d for d in kept if d != document])

    def _edit(self, app_id: str, change: Callable[[list[Any]], list[Any]]) -> None:
        """Change one app's list under a lock: other runs may be editing other apps'. A file
        that cannot be read is left as it is (LedgerFileError)."""
        with locked(self.path):
            projects = read_table(self.path, _FIX)
            apps = apps_of(projects, self._project, self.path, _FIX)
            kept = change(_list(apps.get(app_id)))
            if kept:
                apps[app_id] = kept
            else:
                apps.pop(app_id, None)
            projects.pop(self._project, None)
            if apps:
                projects[self._project] = apps
            text = json.dumps({"version": FILE_VERSION, "projects": projects}, sort_keys=True)
            write_atomically(self.path, text + "\n")
            self._read, self._unreadable = apps, None

    def _apps(self) -> dict[str, Any]:
        """The project's records by app, read once; from a file that cannot be read, none."""
        if self._read is None:
            try:
                self._read = apps_of(read_table(self.path, _FIX), self._project, self.path, _FIX)
            except LedgerFileError as exc:
                self._read, self._unreadable = {}, exc
        return self._read


class PendingAwareStore:
    """A ledger store that keeps records in `pending` until they are written and verified,
    and reads every ledger with the pending records of its app merged in."""

    def __init__(
        self,
        inner: LedgerStore,
        pending: PendingLedgers,
        *,
        retry: RetryPolicy = LEDGER_RETRY,
        pacing: Pacing | None = None,
    ) -> None:
        self._inner = inner
        self._pending = pending
        self._retry = retry
        self._pacing = pacing or Pacing()

    @property
    def pending_path(self) -> Path:
        return self._pending.path

    @property
    def goes_with_app(self) -> bool:
        return self._inner.goes_with_app

    def check_writable(self) -> None:
        self._inner.check_writable()
        self._pending.check_writable()

    def read(self, app: ObservedApp, env_value: str | None) -> tuple[AppLedger, str | None]:
        ledger, warning = self._inner.read(app, env_value)
        builds = {build.build_id for build in app.builds}
        for recording in self._pending.records(app.app_id):
            if recording.holds_for(builds):
                ledger = recording(ledger)
        return ledger, warning

    async def write(self, app: str, app_id: str, ledger: AppLedger) -> None:
        await self._inner.write(app, app_id, ledger)

    async def load(self, app: str, app_id: str) -> AppLedger:
        return await self._inner.load(app, app_id)

    async def update(
        self, app: str, app_id: str, change: Change, check: Check | None = None
    ) -> AppLedger:
        """Update the ledger; a `Recording` is kept pending until the update is verified."""
        recording = change if isinstance(change, Recording) else None
        if recording is not None:
            await asyncio.to_thread(self._pending.add, app_id, recording)
        try:
            ledger = await with_retries(
                lambda: self._inner.update(app, app_id, change, check),
                self._retry,
                self._pacing,
                retry_on=_server_error,
            )
        except (ApiError, OSError) as exc:
            if recording is not None:
                exc.args = (f"{exc}; kept in {self._pending.path}, the next apply records it",)
            raise
        if recording is not None:
            await asyncio.to_thread(self._pending.remove, app_id, recording)
        return ledger

    async def complete(self, observed: Mapping[str, ObservedApp]) -> list[str]:
        """Write what earlier runs could not; a warning for each app that still fails."""
        if not self._pending.any():
            return []
        self._pending.read_again()  # another run may have written some since it was read
        warnings = []
        for name, app in sorted(observed.items()):
            builds = frozenset(build.build_id for build in app.builds)
            for recording in self._pending.records(app.app_id):
                if not recording.holds_for(builds):  # its build was deleted since
                    await asyncio.to_thread(self._pending.remove, app.app_id, recording)
                    continue
                try:
                    await self.update(name, app.app_id, recording)
                except (ApiError, OSError) as exc:
                    warnings.append(f"could not record what an earlier apply did ({exc})")
                    break
        return warnings


def _server_error(error: ApiError) -> bool:
    return isinstance(error, UnexpectedStatusError) and error.status >= 500


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
