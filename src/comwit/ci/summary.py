"""The job summary ($GITHUB_STEP_SUMMARY): the plan's or apply's Markdown, appended.

GitHub drops a step's whole summary when its file exceeds 1 MiB, so what comwit appends is
rendered to fit in what the step has left; when nothing fits, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from comwit.secret import redact
from comwit.store.regular import open_append

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
    text = fit(render, room, _utf8)
    if text is None:
        return False
    with open_append(path) as file:
        file.write(b"\n" + text.encode("utf-8"))
    return True


def fit(render: Callable[[int], str], room: int, measure: Callable[[str], int]) -> str | None:
    """`render`'s text, secrets scrubbed, of at most `room` by `measure` (UTF-8 bytes for the
    summary, characters for a comment), asking for less while it is more."""
    budget = room
    for _ in range(_TRIES):
        text = redact(render(budget))
        size = measure(text)
        if size <= room:
            return text
        budget = budget * room // size - 16  # multi-byte characters, longer redactions
        if budget < _MINIMUM:
            return None
    return None


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))
