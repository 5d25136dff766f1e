"""The terminal edge, escaping: strings from outside (the API, the manifest, file names)
are shown with their control characters escaped, so none can move the cursor, clear the
screen, hide text, or start a line that looks like comwit's own.

`one_line` is for a string put into a line of output (a hostname, an env key, a file name);
`printable` is what the console applies to everything it writes, newlines kept. `cut` and
`quoted` keep a value echoed in a one-line message (a 10,000-character app name) short.
"""

from __future__ import annotations

import functools
import re
from typing import Final

# C0 controls, DEL, C1 controls (U+009B is a one-character CSI), zero-width and
# bidirectional formatting marks, line and paragraph separators, surrogates (the bytes of a
# file name or argument that is not UTF-8: a UTF-8 stream refuses them), the byte-order mark,
# and the marker the console paints with (see `PAINT`).
_FORMATTING: Final = (
    "\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ud800-\udfff\ufeff\ue000"
)
# ASCII text (nearly all that comwit writes) can hold only the C0 controls and DEL of these:
# a small class, where the whole one (non-Latin-1 ranges) costs ~3 M instructions to compile.
_ASCII_ANY: Final = re.compile("[\x00-\x1f\x7f]")
_ASCII_KEEP_LINES: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_ANY: Final = f"[\x00-\x1f{_FORMATTING}]"
_KEEP_LINES: Final = f"[\x00-\x08\x0b-\x1f{_FORMATTING}]"
# How much of a value from outside a message echoes: a name, a path, a pattern.
MAX_SHOWN: Final = 80
MAX_PATH_SHOWN: Final = 200  # an API path holds ids: more than a name
PAINT: Final = "\ue000"  # stands for ESC in comwit's own colour codes until the console writes


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\u{ord(char):04x}")


def one_line(text: str) -> str:
    """`text` with every control and formatting character escaped, newlines included."""
    pattern = _ASCII_ANY if text.isascii() else _compiled(_ANY)
    return pattern.sub(_escape, text)


def printable(text: str) -> str:
    """`text` with control and formatting characters escaped, except newlines and tabs."""
    pattern = _ASCII_KEEP_LINES if text.isascii() else _compiled(_KEEP_LINES)
    return pattern.sub(_escape, text)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)  # once, when a text first needs the whole class


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """`text`, or its first `limit` characters, `...` and its length when it is longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def cut_path(path: object, limit: int = MAX_PATH_SHOWN) -> str:
    """A file path echoed in a message: whole up to `limit` characters, else its start and
    its end, which holds the file's name, around `...`, with its length."""
    text = str(path)
    if len(text) <= limit:
        return text
    head = limit // 4
    return f"{text[:head]}...{text[head - limit :]} ({len(text):,} characters)"


def quoted(value: object) -> str:
    """A value from outside as it appears in a message: strings in quotes, escaped and `cut`."""
    if isinstance(value, str):
        return "'" + one_line(cut(value)) + "'"
    return one_line(cut(str(value)))
