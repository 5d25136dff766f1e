"""The job summary ($GITHUB_STEP_SUMMARY): the plan's or apply's Markdown, appended.

GitHub drops a step's whole summary when its file exceeds 1 MiB, so what comwit appends is
rendered to fit in what the step has left; when nothing fits, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from comwit.secret import redact

LIMIT = 1024 * 1024  # bytes, for the whole file of one step
_TRIES = 4
_MINIMUM = 200  # below this, a summary would only be a truncation notice


def append_summary(path: Path, render: Callable[[int], str], limit: int = LIMIT) -> bool:
    """Append `render(budget)` (Markdown of at most `budget` characters) to the summary file,
    keeping the file within `limit` bytes. Returns whether anything was written."""
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    room = limit - used - 1  # the blank line that separates it from earlier summaries
    if room < _MINIMUM:
        return False
    data = fit(render, room)
    if data is None:
        return False
    with path.open("ab") as file:
        file.write(b"\n" + data)
    return True


def fit(render: Callable[[int], str], room: int) -> bytes | None:
    """`render`'s text as UTF-8 of at most `room` bytes, asking for less while it is more."""
    budget = room
    for _ in range(_TRIES):
        data = redact(render(budget)).encode("utf-8")
        if len(data) <= room:
            return data
        budget = budget * room // len(data) - 16  # multi-byte characters: ask for fewer
        if budget < _MINIMUM:
            return None
    return None
