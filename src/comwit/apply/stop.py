"""Stopping an apply part-way (Ctrl-C, SIGTERM): no new mutation starts, the ones in flight
get a bounded grace period, then they are cancelled; a second signal cancels them at once."""

from __future__ import annotations

import asyncio
import signal
import threading

DEFAULT_GRACE = 10.0  # seconds for in-flight calls (an upload) to finish after a signal


class Stopped(Exception):
    """Raised where work stops because a stop was requested (packing, before an action)."""


class Stop:
    def __init__(self, grace: float = DEFAULT_GRACE) -> None:
        self.grace = grace
        self.signum: int | None = None
        self._soft = threading.Event()  # read by the packing thread too
        self._hard = asyncio.Event()
        self._asked = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self._soft.is_set()

    def request(self, signum: int = signal.SIGINT) -> None:
        """A signal arrived: the first asks to stop, the second to stop now."""
        if self._soft.is_set():
            self._hard.set()
            return
        self.signum = signum
        self._soft.set()
        self._asked.set()

    def check(self) -> None:
        """Raise Stopped if a stop was requested; safe from any thread."""
        if self._soft.is_set():
            raise Stopped

    async def cancel_after_grace(self, tasks: list[asyncio.Task[object]]) -> None:
        """Once asked to stop, cancel what still runs after the grace period (or a 2nd signal)."""
        await self._asked.wait()
        hard = asyncio.ensure_future(self._hard.wait())
        try:
            await asyncio.wait([hard], timeout=self.grace)
        finally:
            hard.cancel()
        for task in tasks:
            task.cancel()

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as shells report it (SIGINT 130, SIGTERM 143)."""
        return 128 + (self.signum or signal.SIGINT)
