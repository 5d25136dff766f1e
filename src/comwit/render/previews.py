"""The previews table of a preview's living comment: app, URL, commit, updated. Pure."""

from __future__ import annotations

import time
from collections.abc import Sequence

from comwit.escape import one_line
from comwit.frozen import frozen


@frozen
class PreviewRow:
    app: str
    url: str | None
    commit: str | None  # short sha
    updated_ms: int | None  # the preview's last deploy


def render_previews(rows: Sequence[PreviewRow]) -> str:
    """A Markdown table, one row per preview app (empty when there is none)."""
    if not rows:
        return ""
    lines = ["| preview | URL | commit | updated |", "| --- | --- | --- | --- |"]
    for row in rows:
        url = f"<{one_line(row.url)}>" if row.url else "-"
        commit = f"`{one_line(row.commit)}`" if row.commit else "-"
        lines.append(f"| `{one_line(row.app)}` | {url} | {commit} | {_when(row.updated_ms)} |")
    return "\n".join(lines) + "\n"


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))
