"""The job summary ($GITHUB_STEP_SUMMARY): the plan's or apply's Markdown, appended.

GitHub drops a step's whole summary when its file exceeds 1 MiB, so what comwit appends is
rendered to fit in what the step has left; when nothing fits, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from comwit.ci.fit import MINIMUM, fit
from comwit.store.regular import open_append

LIMIT = 1024 * 1024  # bytes, for the whole file of one step


def append_summary(path: Path, render: Callable[[int], str], limit: int = LIMIT) -> bool:
    """Append `render(budget)` (Markdown of at most `budget` characters) to the summary file,
    keeping the file within `limit` bytes. Returns whether anything was written."""
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    room = limit - used - 1  # the blank line that separates it from earlier summaries
    if room < MINIMUM:
        return False
    text = fit(render, room, _utf8)
    if text is None:
        return False
    with open_append(path) as file:
        file.write(b"\n" + text.encode("utf-8"))
    return True


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))
