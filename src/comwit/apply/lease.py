"""The per-app apply lease, kept with the ledger: one run mutates an app at a time.

Taken before an app's first mutation (written, then read back to confirm), renewed while
the app is applied, released at the end. A lease that is live and not ours is never taken
over: the run waits up to `wait` seconds, then fails naming the holder. The one exception is
a lease of a process on this machine that no longer exists (it was killed). A run that
waits says so once, naming the holder. The API has no
conditional writes, so two runs writing at the same instant can both read their own lease
back; the CI's own serialisation is the guard that closes that window (docs/concurrency.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from comwit.api.pool import urgent
from comwit.apply.workdir import process_exists
from comwit.errors import ApplyError
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.plan.ledger import AppLedger, Lease, PreviewMark, Upload
from comwit.store.ledger import LedgerStore

DEFAULT_TTL = 120.0  # seconds; renewed every third of it while the app is applied


@frozen
class LeasePolicy:
    holder: str  # who: the CI job, or user@host
    run: str  # the CI run URL, or host:pid
    wait: float = 0.0  # --lock-timeout: seconds to wait for another run's lease
    ttl: float = DEFAULT_TTL
    poll: float = 2.0


class LeaseHeldError(ApplyError):
    """Another run holds the app's lease."""


class AppLease:
    def __init__(
        self,
        store: LedgerStore,
        app: str,
        app_id: str,
        policy: LeasePolicy,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        waiting: Callable[[str], None] = lambda _: None,
        upload: Upload | None = None,
        preview: PreviewMark | None = None,
    ) -> None:
        """`sleep`: how a wait for another run's lease passes; `waiting` is told, once, that
        this run waits, whom for and how long at the most. `preview`: the mark of a preview
        app, written with the lease when the ledger has none, so a preview whose first
        deploy fails is still comwit's (to retry, or to delete)."""
        self._upload = upload  # written with the lease: a run that dies leaves it behind
        self._preview = preview
        self._store, self._app, self._app_id = store, app, app_id
        self._policy = policy
        self._clock, self._sleep, self._waiting = clock, sleep, waiting
        self._token = secrets.token_hex(8)
        self.lost: str | None = None  # set when a renewal found the lease taken

    async def acquire(self) -> AppLedger:
        """Take the lease; the ledger as read back. LeaseHeldError after `wait` seconds."""
        deadline = self._clock() + self._policy.wait
        freed = 0
        told = False
        while True:
            back = await self._store.update(self._app, self._app_id, self._take, lambda _: True)
            if self._mine(back):
                return back
            if back.lease is None and freed < 3:  # released between our read and write
                freed += 1
                continue
            if back.lease is None or self._clock() >= deadline:
                raise LeaseHeldError(_refused(self._app, back.lease, self._policy.wait))
            if not told:
                told = True
                self._waiting(_waits(back.lease, deadline - self._clock()))
            await self._sleep(max(0.0, min(self._policy.poll, deadline - self._clock())))

    async def confirm(self) -> None:
        """Read the lease once more; LeaseHeldError when another run's write replaced it."""
        back = await self._store.load(self._app, self._app_id)
        if not self._mine(back):
            raise LeaseHeldError(_refused(self._app, back.lease, 0))

    async def restate(self, upload: Upload | None) -> None:
        """Keep `upload` with the lease in place of the one it was taken with (the app was
        planned again under it, from another live build); `confirm` checks it is still ours."""
        self._upload = upload
        await self._store.update(self._app, self._app_id, self._reupload, lambda _: True)

    async def renew(self) -> None:
        back = await self._store.update(self._app, self._app_id, self._extend, lambda _: True)
        if not self._mine(back):
            holder = back.lease.holder if back.lease else "nobody"
            self.lost = f"its apply lease was taken over by {holder} while it was applied"

    async def release(self) -> None:
        await self._store.update(self._app, self._app_id, self._drop)

    async def keep_renewed(self) -> None:
        """Renew every third of the lease's lifetime until cancelled (on the loop's own
        time: an injected `sleep` passes only waits for another run's lease)."""
        while True:
            await asyncio.sleep(self._policy.ttl / 3)
            with contextlib.suppress(Exception), urgent():  # the next renewal tries again
                await self.renew()

    def _take(self, ledger: AppLedger) -> AppLedger:
        held = ledger.lease
        if held is not None and held.token != self._token and self._live(held):
            return ledger
        taken = ledger.with_lease(self._lease(), self._upload)
        if self._preview is not None and taken.preview is None:
            taken = dataclasses.replace(taken, preview=self._preview)
        return taken

    def _extend(self, ledger: AppLedger) -> AppLedger:
        return ledger.with_lease(self._lease(), ledger.upload) if self._mine(ledger) else ledger

    def _reupload(self, ledger: AppLedger) -> AppLedger:
        return ledger.with_lease(ledger.lease, self._upload) if self._mine(ledger) else ledger

    def _drop(self, ledger: AppLedger) -> AppLedger:
        return ledger.with_lease(None) if self._mine(ledger) else ledger

    def _mine(self, ledger: AppLedger) -> bool:
        return ledger.lease is not None and ledger.lease.token == self._token

    def _lease(self) -> Lease:
        expires = int((self._clock() + self._policy.ttl) * 1000)
        return Lease(self._policy.holder, self._policy.run, expires, self._token)

    def _live(self, lease: Lease) -> bool:
        return lease.live(int(self._clock() * 1000)) and not _dead_here(lease)


def _dead_here(lease: Lease) -> bool:
    """The lease's holder is a process of this machine that no longer exists."""
    host, _, pid = lease.run.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not process_exists(int(pid))


def _waits(lease: Lease, seconds: float) -> str:
    return (
        f"waiting up to {seconds:.0f} s for its apply lease, held by {lease.holder} "
        f"({lease.run}) until {lease.until()}"
    )


def _refused(app: str, lease: Lease | None, waited: float) -> str:
    """Why this run cannot have the app's lease: who holds it, or that nobody does now."""
    return _held(app, lease, waited) if lease is not None else _gone(app)


def _held(app: str, lease: Lease, waited: float) -> str:
    after = f" after waiting {waited:.0f} s" if waited else ""
    return (
        f"app {quoted(app)} is being applied by {lease.holder} ({lease.run}); its lease runs until "
        f"{lease.until()}{after}. Pass --lock-timeout SECONDS to wait for it, or run "
        f"`comwit unlock {app}` if that run is gone"
    )


def _gone(app: str) -> str:
    # Another run's write replaced this run's lease and that run released its own since: it
    # has applied the app (or given up) in the meantime, so there is no holder to name.
    return (
        f"app {quoted(app)} was leased by another run at the same time, and that run has let it go "
        "since: plan again to see what it changed"
    )


def unlock(ledger: AppLedger) -> AppLedger:
    """The ledger without its lease, whoever holds it (`comwit unlock`); an upload the gone
    run left stays, so the next plan can adopt its build."""
    return ledger.with_lease(None, ledger.upload)
