"""Markdown fitted to a size limit, secrets scrubbed: the job summary (UTF-8 bytes left in the
step's file) and the PR or MR comment (the forge's characters) both ask `fit` for their text."""

from __future__ import annotations

from collections.abc import Callable

from comwit.secret import redact

MINIMUM = 200  # below this, a rendering would only be a truncation notice
_TRIES = 4


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
        if budget < MINIMUM:
            return None
    return None
