"""App logs in the emulator: it runs no app code, so an app's log lines are its own events
(created, a build uploaded, a build made live, hostnames and env vars changed), each with the
build live at the time. Read newest first, a page at a time (`next_page_token`)."""

from __future__ import annotations

import base64
import calendar
import re
import sqlite3
import time
from typing import Final

from comwit.api import assumed
from comwit.api.models import LogQuery
from comwit.emulator import schemas
from comwit.emulator.problems import bad_request
from comwit.emulator.store import Principal, Store
from comwit.escape import quoted

MAX_TAIL: Final = 10_000
_SEVERITY: Final = {name: rank for rank, name in enumerate(assumed.LOG_LEVELS)}
_DURATION: Final = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_RFC3339: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


def record(
    db: sqlite3.Connection,
    store: Store,
    app_id: str,
    message: str,
    *,
    build_id: str | None = None,
    level: str = "info",
) -> None:
    """Log one event of the app, with `build_id` or else the build live now."""
    if build_id is None:
        row = db.execute("SELECT active_build_id FROM apps WHERE app_id = ?", (app_id,)).fetchone()
        build_id = row["active_build_id"] if row else None
    _, now_ms = store.now()
    db.execute(
        "INSERT INTO events (app_id, at_ms, level, message, build_id) VALUES (?, ?, ?, ?, ?)",
        (app_id, now_ms, level, message, build_id),
    )


def list_logs(
    store: Store, who: Principal, project_id: str, app_id: str, query: LogQuery, page_size: int
) -> schemas.LogPage:
    """Up to `tail` matching lines, newest first, at most `page_size` per answer."""
    before, remaining = _read_token(query.page_token, query.tail)
    where, args = _filters(query, store.clock())
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        rows = db.execute(
            f"SELECT seq, at_ms, level, message, build_id FROM events WHERE app_id = ?"
            f" AND seq < ?{where} ORDER BY seq DESC LIMIT ?",
            (app_id, before, *args, min(page_size, remaining) + 1),
        ).fetchall()
    page = rows[: min(page_size, remaining)]
    left = remaining - len(page)
    more = len(rows) > len(page) and left > 0
    return schemas.LogPage(
        logs=[_line(app_id, row) for row in page],
        next_page_token=_token(page[-1]["seq"], left) if more else None,
    )


def check_level(level: str | None) -> None:
    if level is not None and level not in _SEVERITY:
        raise bad_request(
            f"Unknown level {quoted(level)}: use one of {', '.join(assumed.LOG_LEVELS)}.",
            "invalid_level",
        )


def _filters(query: LogQuery, now: float) -> tuple[str, list[object]]:
    check_level(query.level)
    where, args = "", list[object]()
    if query.level is not None:
        allowed = [n for n, rank in _SEVERITY.items() if rank >= _SEVERITY[query.level]]
        where += f" AND level IN ({', '.join('?' * len(allowed))})"
        args += allowed
    if query.since:
        where += " AND at_ms >= ?"
        args.append(_since_ms(query.since, now))
    if query.build_id:
        where += " AND build_id = ?"
        args.append(query.build_id)
    if query.route or query.request_id:  # the emulator serves no requests: nothing matches
        where += " AND 0"
    return where, args


def _since_ms(since: str, now: float) -> int:
    """An RFC 3339 time, or a duration back from now such as `30m`, `2h`, `1h30m`, `45s`; a
    time before 1970 is 1970 (no line is older)."""
    try:
        return max(_parse_since(since.strip(), now), 0)
    except ValueError:  # no such date (February 30), an offset past 23:59, 4,300+ digits
        raise bad_request(
            f"since={quoted(since)} is neither an RFC 3339 time nor a duration like 30m.",
            "invalid_since",
        ) from None


def _parse_since(text: str, now: float) -> int:
    duration = _DURATION.fullmatch(text)
    if text and duration:
        hours, minutes, seconds = (int(part or 0) for part in duration.groups())
        return int(now * 1000) - (hours * 3600 + minutes * 60 + seconds) * 1000
    stamp = _RFC3339.fullmatch(text)
    if stamp is None:
        raise ValueError(text)
    base, fraction, zone = stamp.groups()
    seconds = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    offset = 0
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:])
        if hours > 23 or minutes > 59:
            raise ValueError(zone)
        offset = int(zone[0] + "1") * (hours * 3600 + minutes * 60)
    return int((seconds - offset + float(fraction or 0)) * 1000)


def _line(app_id: str, row: sqlite3.Row) -> schemas.LogLine:
    at_ms = row["at_ms"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at_ms // 1000))
    return schemas.LogLine(
        timestamp=f"{stamp}.{at_ms % 1000:03d}Z",
        level=row["level"],
        message=row["message"],
        app_id=app_id,
        build_id=row["build_id"],
    )


def _token(before: int, remaining: int) -> str:
    return base64.urlsafe_b64encode(f"{before}.{remaining}".encode()).decode().rstrip("=")


def _read_token(token: str | None, tail: int) -> tuple[int, int]:
    if not token:
        return 2**62, tail
    try:
        padded = token + "=" * (-len(token) % 4)
        before, remaining = base64.urlsafe_b64decode(padded).decode().split(".")
        return int(before), min(int(remaining), tail)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "The page token is not one this service gave.", "invalid_page_token"
        ) from None
