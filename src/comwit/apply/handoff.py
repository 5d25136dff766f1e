"""Hostnames moving between apps in one apply: the receiver's attach waits for the giver's
detach, for a bounded time. The plan puts each giver's detach first, so no wait is circular."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from comwit.errors import ApplyError
from comwit.escape import quoted
from comwit.plan.actions import AppPlan, AttachHost, DetachHost, Plan

DEFAULT_MOVE_WAIT = 600.0  # seconds; the giver only has to pack and take its lease first


class Handoffs:
    def __init__(self, plan: Plan, *, limit: float = DEFAULT_MOVE_WAIT) -> None:
        self._limit = limit
        self._events = {
            action.host: asyncio.Event()
            for app in plan.apps
            for action in app.actions
            if isinstance(action, AttachHost) and action.moves_from
        }
        self._freed: set[str] = set()

    def freed(self, host: str) -> None:
        """The giver detached `host`: its receiver may attach it now."""
        self._freed.add(host)
        if host in self._events:
            self._events[host].set()

    def settle(self, app: AppPlan) -> None:
        """`app` is finished, however it ended: receivers waiting on it stop waiting."""
        for action in app.actions:
            if isinstance(action, DetachHost) and action.host in self._events:
                self._events[action.host].set()

    async def wait(
        self, action: AttachHost, pause: Callable[[Awaitable[bool]], Awaitable[bool]]
    ) -> None:
        """Return once the giver detached the hostname; `pause` frees the caller's slot
        while waiting. ApplyError when the giver failed, was skipped, or took too long."""
        event = self._events.get(action.host)
        if event is None or action.host in self._freed:
            return
        try:
            async with asyncio.timeout(self._limit):
                await pause(event.wait())
        except TimeoutError:
            raise ApplyError(
                f"hostname {action.host} moves from app {quoted(action.moves_from)}, which did not "
                f"detach it within {self._limit:.0f} s; run apply again"
            ) from None
        if action.host not in self._freed:
            raise ApplyError(
                f"hostname {action.host} moves from app {quoted(action.moves_from)}, which did not "
                "detach it (see that app's outcome); run apply again once it is fixed"
            )
