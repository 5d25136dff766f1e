"""The terminal edge, escaping: strings from outside (the API, the manifest, file names)
are shown with their control characters escaped, so none can move the cursor, clear the
screen, hide text, or start a line that looks like comwit's own.

`one_line` is for a string put into a line of output (a hostname, an env key, a file name);
`printable` is what the console applies to everything it writes, newlines kept.
"""

from __future__ import annotations

import functools
import re
from typing import Final

# C0 controls, DEL, C1 controls (U+009B is a one-character CSI), zero-width and
# bidirectional formatting marks, line and paragraph separators, the byte-order mark, and
# the marker the console paints with (see `PAINT`).
_FORMATTING: Final = "\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ue000"
_KEEP_LINES: Final = re.compile(f"[\x00-\x08\x0b-\x1f{_FORMATTING}]")
PAINT: Final = "\ue000"  # stands for ESC in comwit's own colour codes until the console writes


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\u{ord(char):04x}")


def one_line(text: str) -> str:
    """`text` with every control and formatting character escaped, newlines included."""
    return _any().sub(_escape, text)


@functools.cache
def _any() -> re.Pattern[str]:
    # Compiled when first used: a class of non-Latin-1 characters costs ~3 M instructions,
    # and a command that prints nothing from outside (validate) never needs it.
    return re.compile(f"[\x00-\x1f{_FORMATTING}]")


def printable(text: str) -> str:
    """`text` with control and formatting characters escaped, except newlines and tabs."""
    return _KEEP_LINES.sub(_escape, text)


def quoted(value: object) -> str:
    """A value from outside as it appears in a message: strings in quotes, escaped."""
    if isinstance(value, str):
        return "'" + one_line(value) + "'"
    return one_line(str(value))
