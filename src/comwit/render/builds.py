"""Render one app's builds, newest first, with what the ledger knows of each. Pure."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from comwit.escape import one_line
from comwit.plan.ledger import LedgerEntry
from comwit.plan.state import ObservedApp, ObservedBuild
from comwit.render.describe import format_bytes, short

FORMAT_VERSION = 1
UNKNOWN = "unknown to the ledger"
_HEADINGS = ("BUILD", "CREATED", "SIZE", "CONTENT", "ENV_REF", "MAX_REQUESTS", "RECORDED")


def newest_first(builds: Sequence[ObservedBuild]) -> list[ObservedBuild]:
    """By creation time when every build has one; otherwise as the API listed them."""
    keys = {build.build_id: _age(build) for build in builds}
    if any(key is None for key in keys.values()):
        return list(builds)
    return sorted(builds, key=lambda build: keys[build.build_id] or (0, 0), reverse=True)


def format_ms(ms: int | None) -> str:
    """Epoch milliseconds as RFC 3339 UTC seconds; '-' when unknown."""
    if not ms:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def render_builds_text(project: str, app: ObservedApp) -> str:
    count = len(app.builds)
    if not count:
        return f"app {app.name} in project {project} has no builds yet"
    head = f"app {app.name} in project {project}: {count} build{'s' if count != 1 else ''}"
    ordered = newest_first(app.builds)
    rows = [_HEADINGS, *(tuple(one_line(c) for c in _row(app, build)) for build in ordered)]
    marks = [" ", *("*" if b.build_id == app.active_build_id else " " for b in ordered)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS))]
    table = [
        f"{mark} " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for mark, row in zip(marks, rows, strict=True)
    ]
    lines = [f"{head}, newest first (* live)", "", *(line.rstrip() for line in table)]
    return "\n".join(lines)


def render_builds_json(project: str, app: ObservedApp) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "project": project,
        "app": app.name,
        "app_id": app.app_id,
        "active_build_id": app.active_build_id,
        "builds": [_build_document(app, build) for build in newest_first(app.builds)],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def ledger_document(entry: LedgerEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "digest": entry.digest,
        "env_ref": entry.env_ref,
        "max_concurrent_requests": entry.max_concurrent_requests,
        "recorded_at_ms": entry.recorded_at_ms or None,
    }


def _row(app: ObservedApp, build: ObservedBuild) -> tuple[str, ...]:
    created = build.created_at or format_ms(build.deployed_at_ms)
    size = "-" if build.artifact_size is None else format_bytes(build.artifact_size)
    entry = app.ledger.get(build.build_id)
    if entry is None:
        return (build.build_id, created, size, UNKNOWN, "", "", "")
    return (
        build.build_id,
        created,
        size,
        short(entry.digest),
        entry.env_ref or "-",
        "-" if entry.max_concurrent_requests is None else str(entry.max_concurrent_requests),
        format_ms(entry.recorded_at_ms),
    )


def _build_document(app: ObservedApp, build: ObservedBuild) -> dict[str, Any]:
    return {
        "build_id": build.build_id,
        "active": build.build_id == app.active_build_id,
        "created_at": build.created_at,
        "deployed_at_ms": build.deployed_at_ms,
        "artifact_size": build.artifact_size,
        "ledger": ledger_document(app.ledger.get(build.build_id)),
    }


def _age(build: ObservedBuild) -> tuple[float, int] | None:
    """(created_at in seconds, deployed_at_ms): ties keep the API's order (the sort is stable)."""
    created = _seconds(build.created_at)
    if created is None and build.deployed_at_ms is None:
        return None
    deployed = build.deployed_at_ms or 0
    return (deployed / 1000 if created is None else created, deployed)


def _seconds(stamp: str | None) -> float | None:
    if stamp is None:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
