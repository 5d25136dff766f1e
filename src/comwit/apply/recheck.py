"""Under an app's lease, before its first change: is the plan still the one to run?

Another run may have changed the app between the plan and the lease (a run that waited for
the lease always finds that). When its live build is not the one planned, the app is read
again and planned again: nothing left to do is `AlreadyDone`; for a plain apply, the same
changes (the same kinds of action on the same targets: the same upload digest, options and
hostnames, the same env keys and values) go on from what is live now; anything else is a
`Skip` that says to plan again. A saved plan never goes on with other preconditions: it is
a promise of exactly what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from comwit.api.assumed import DOMAIN_ACTIVE
from comwit.api.client import ComwitClient
from comwit.api.models import App
from comwit.apply.actions import Prepared, prepared
from comwit.apply.result import live_url
from comwit.errors import ComwitError
from comwit.frozen import frozen
from comwit.observe import observe_app
from comwit.plan.actions import Action, AppPlan
from comwit.plan.ledger import AppLedger
from comwit.plan.state import ObservedApp
from comwit.store.ledger import LedgerReader

Replan = Callable[[ObservedApp], AppPlan]  # the app's plan, made again from what is live now
Older = Callable[[AppLedger, str | None], str | None]  # why not to replace this live build
# What an action says of the app as it was when planned (its live build, the old value),
# not what it does: a plan made again from another live build differs there alone.
_AS_IT_WAS: dict[str, set[str]] = {
    "deploy": {"reason", "live_build", "old_digest", "option_changes", "tree_changes", "size"},
    "activate": {"reason", "live_build", "digest"},
    "set_env": {"change", "old"},
}


class Skip(Exception):
    """The app is left alone, and why (found after the lease was taken)."""


class AlreadyDone(Exception):
    """Another run made the app what this run would have (found after the lease was taken)."""

    def __init__(self, detail: str, url: str | None) -> None:
        super().__init__(detail)
        self.url = url


@frozen
class ToRun:
    """The app's plan and its handlers' inputs, as they run under the lease."""

    app: AppPlan
    ready: Prepared
    replanned: bool = False  # made again from the live build that another run left
    live: str | None = None  # that build


@frozen
class Recheck:
    """The re-check of an app under its lease: the API and ledgers to read it again from,
    the ordering guard, and how to plan it again (none: a moved live build skips it)."""

    client: ComwitClient
    store: LedgerReader
    project: str
    older: Older
    replan: Replan | None = None  # None: a live build changed since the plan skips the app
    goes_on: bool = False  # a plain apply: the same changes, planned again, go on

    async def under_lease(
        self, app: AppPlan, app_id: str, ready: Prepared, fresh: AppLedger
    ) -> ToRun:
        """What runs: the app as planned, or planned again (see the module's docstring);
        `fresh`: its ledger as read back with the lease."""
        found = await self.client.find_app(self.project, app_id)
        live = found.active_build_id if found else None
        if live != app.preconditions.active_build_id:
            refusal = Skip(
                f"another run changed its live build from {app.preconditions.active_build_id} "
                f"to {live} since the plan; plan again"
            )
            if found is None or self.replan is None:
                raise refusal
            return await self._plan_again(app, found, ready, refusal)
        if fresh.get(live) != ready.ledger.get(live):
            raise Skip(
                f"another run recorded what its live build {live} holds since the plan; plan again"
            )
        self._refuse_older(fresh, live)
        return ToRun(app, ready)

    async def _plan_again(self, app: AppPlan, found: App, ready: Prepared, refusal: Skip) -> ToRun:
        """The app read again (`found`: as just listed; its builds, hostnames and env vars
        are read) and planned again: AlreadyDone, the same changes to go on, or `refusal`."""
        assert self.replan is not None
        try:
            now = await observe_app(self.client, self.project, found, self.store)
        except ComwitError:  # it could not be read again: the refusal says to plan again
            raise refusal from None
        live = found.active_build_id
        # The upload kept with this run's own lease is not an earlier run's to adopt.
        again = self.replan(replace(now, ledger=now.ledger.with_lease(None)))
        if again.error is None and not again.actions:
            active = [host.name for host in now.hosts if host.status == DOMAIN_ACTIVE]
            raise AlreadyDone(
                f"already applied by another run: its live build {live} is the one this run "
                "would make live",
                live_url(now.default_url, active),
            )
        if not self.goes_on or again.error or not same_changes(app, again):
            raise refusal
        self._refuse_older(now.ledger, live)
        # From here the handlers know the app as it is now: a lost answer is looked for
        # among builds new since then, not since the plan.
        fresh = prepared(
            now, values=ready.values, keep=ready.keep, now_ms=ready.now_ms, artifact=ready.artifact
        )
        return ToRun(again, fresh, replanned=True, live=live)

    def _refuse_older(self, ledger: AppLedger, live: str | None) -> None:
        older = self.older(ledger, live)
        if older:
            raise Skip(older)


def same_changes(planned: AppPlan, again: AppPlan) -> bool:
    """Whether `again` (made from what is live now) changes what `planned` changes, in the
    same order, and holds back the same: only what they say of the app as it was differs."""
    return [_what_it_does(a) for a in planned.actions] == [
        _what_it_does(a) for a in again.actions
    ] and [_what_it_does(h.action) for h in planned.held] == [
        _what_it_does(h.action) for h in again.held
    ]


def _what_it_does(action: Action) -> dict[str, Any]:
    return action.model_dump(exclude={"id", "destructive", *_AS_IT_WAS.get(action.type, ())})
