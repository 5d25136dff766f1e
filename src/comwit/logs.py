"""An app's log: every page of it, oldest line first, and following it as it grows.

The API answers newest first, a page at a time (`next_page_token`); this reads pages until
the API says there are no more or `tail` lines are in, then turns them around. Following
polls every `FOLLOW_INTERVAL` seconds (the official CLI's cadence) for lines since the
newest one shown, never showing one twice, until its time is up (at most one poll per
interval of it) or it is interrupted. A read that would outlast that time is cut short
(`_within`), not left to the API's own timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from comwit.api.assumed import LOGS_PAGE_TOKEN_PARAM
from comwit.api.client import ComwitClient
from comwit.api.models import LogLine, LogQuery
from comwit.errors import ApiError

FOLLOW_INTERVAL: Final = 2.0
# More pages than any honest listing needs: a server that keeps answering a token is cut off.
MAX_PAGES: Final = 1000
# A poll made just before the time is up still gets this long to answer.
LAST_POLL_SECONDS: Final = 1.0


async def read_logs(
    client: ComwitClient, project: str, app_id: str, query: LogQuery
) -> list[LogLine]:
    """Up to `query.tail` lines matching `query`, oldest first, across every page."""
    lines: list[LogLine] = []
    token: str | None = None
    seen_tokens: set[str] = set()
    previous: tuple[LogLine, ...] = ()
    for _ in range(MAX_PAGES):
        page = await client.list_logs(project, app_id, replace(query, page_token=token))
        again = page.logs and (page.next_page_token in seen_tokens or page.logs == previous)
        if token is not None and again:
            # A page that points back at one already read, or holds the same lines, is one
            # already read: the API did not take the token (or cycles). Its lines again
            # would be shown twice.
            raise ApiError(
                "the API answered a page of logs already read, for the page token it gave; it "
                f"does not take `{LOGS_PAGE_TOKEN_PARAM}` as comwit assumes (`comwit doctor` "
                "checks it)",
                method="GET",
                path=f"/v1/projects/{project}/apps/{app_id}/logs",
            )
        lines += page.logs
        previous = tuple(page.logs)
        token = page.next_page_token
        if not token or len(lines) >= query.tail or not page.logs:
            break
        seen_tokens.add(token)
    return lines[: query.tail][::-1]


Emit = Callable[[LogLine], None]


async def follow_logs(
    client: ComwitClient,
    project: str,
    app_id: str,
    query: LogQuery,
    emit: Emit,
    *,
    seconds: float,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Emit the last lines, then new ones as they come, for `seconds`; the number emitted."""
    shown = 0
    newest = _Newest()
    deadline = clock() + seconds
    first = await _within(deadline - clock(), read_logs(client, project, app_id, query))
    for line in first or ():
        newest.add(line)
        emit(line)
        shown += 1
    # No more polls than the time holds, whatever the clock says (one set back, or a stand-in
    # that does not move).
    for _ in range(int(seconds // FOLLOW_INTERVAL)):
        if first is None or clock() + FOLLOW_INTERVAL > deadline:
            break
        await sleep(FOLLOW_INTERVAL)
        since = newest.timestamp or query.since
        polled = await _within(
            deadline - clock(), read_logs(client, project, app_id, replace(query, since=since))
        )
        if polled is None:
            break
        for line in polled:
            if newest.add(line):
                emit(line)
                shown += 1
    return shown


async def _within(seconds: float, reading: Awaitable[list[LogLine]]) -> list[LogLine] | None:
    """What `reading` gives, or None once it has taken `seconds` (LAST_POLL_SECONDS at least):
    a slow API ends the following when its time is up, not a request timeout later."""
    try:
        async with asyncio.timeout(max(seconds, LAST_POLL_SECONDS)):
            return await reading
    except TimeoutError:
        return None


class _Newest:
    """The newest timestamp shown, and the lines at it: a poll `since` that time answers them
    again (the bound is inclusive), so they are the only ones that can repeat."""

    def __init__(self) -> None:
        self.timestamp: str | None = None
        self._at: set[tuple[str | None, ...]] = set()

    def add(self, line: LogLine) -> bool:
        """Remember `line`; False when it was shown already."""
        key = _identity(line)
        if line.timestamp == self.timestamp:
            if key in self._at:
                return False
            self._at.add(key)
            return True
        if self.timestamp is not None and line.timestamp < self.timestamp:
            return False
        self.timestamp, self._at = line.timestamp, {key}
        return True


def _identity(line: LogLine) -> tuple[str | None, ...]:
    # The official CLI's logIdentity: the fields that tell two lines apart.
    return (
        line.timestamp,
        line.level,
        line.build_id,
        line.route,
        line.request_id,
        line.message,
        line.error_class,
    )
