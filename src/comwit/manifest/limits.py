"""Bounds on a manifest's shape, checked before anything that recurses or scales badly reads it.

tomllib recurses once per nested array or inline table and takes quadratic time on long
dotted keys; a manifest needs neither (its deepest value is `environments.X.apps.Y.hosts[0]
.name`). The text is scanned without recursion first; the parsed document is measured after.
"""

from __future__ import annotations

import re
from typing import Any

from comwit.manifest.locate import Path, Position

MAX_DEPTH = 32
"""Nesting levels (tables, arrays, inline tables, dotted-key parts) a manifest may use."""
MAX_BYTES = 16 * 1024 * 1024
"""A manifest larger than this is refused before it is parsed."""

TOO_DEEP = (
    f"nested deeper than {MAX_DEPTH} levels (arrays, inline tables or dotted keys); "
    "a comwit manifest needs at most 6: flatten this value"
)

_KEY, _VALUE, _HEADER = "key", "value", "header"
_PLAIN = re.compile(r"[^\"'#\n.=,\[\]{}]+")
# What may end, escape or break a line of a string: for a basic one, also the backslash.
_STRING_STOPS = {'"': re.compile(r'["\\\n]'), "'": re.compile("['\n]")}


def overflow(text: str) -> Position | None:
    """Where the text first nests arrays/inline tables, or dots a key, beyond MAX_DEPTH."""
    return _Scan(text).run()


def too_deep(document: dict[str, Any]) -> Path | None:
    """The first path of the parsed document longer than MAX_DEPTH, cut at MAX_DEPTH + 1."""
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in enumerate(node))
    return None


class _Scan:
    """A tokenizer just precise enough to tell keys from values: strings and comments are
    skipped, so brackets and dots inside them do not count."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.brackets: list[str] = []
        self.mode = _KEY
        self.parts = 1

    def run(self) -> Position | None:
        text = self.text
        while self.i < len(text):
            plain = _PLAIN.match(text, self.i)
            if plain:
                self.i = plain.end()
                continue
            char = text[self.i]
            if char in "\"'":
                self._skip_string(char)
            elif char == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif self._step(char):
                return self._position()
            else:
                self.i += 1
        return None

    def _step(self, char: str) -> bool:
        """Take one structural character; True when it nests or dots beyond MAX_DEPTH."""
        mode, brackets = self.mode, self.brackets
        if char == "\n":
            self.line += 1
            self.line_start = self.i + 1
            if not brackets:
                self._enter(_KEY)
        elif mode in (_KEY, _HEADER) and char == ".":
            self.parts += 1
            return self.parts > MAX_DEPTH
        elif mode == _KEY and not brackets and char == "[":
            self._enter(_HEADER)
        elif mode == _HEADER and char == "]":
            self.mode = _VALUE  # nothing but a comment may follow on this line
        elif mode == _KEY and char == "=":
            self._enter(_VALUE)
        elif mode == _VALUE and char in "[{":
            brackets.append(char)
            self._enter(_KEY if char == "{" else _VALUE)
            return len(brackets) > MAX_DEPTH
        elif char in "]}" and brackets and mode != _HEADER:
            brackets.pop()
            self.mode = _VALUE
        elif char == "," and brackets:
            self._enter(_KEY if brackets[-1] == "{" else _VALUE)
        return False

    def _enter(self, mode: str) -> None:
        self.mode, self.parts = mode, 1

    def _skip_string(self, quote: str) -> None:
        text = self.text
        delimiter = quote * 3 if text.startswith(quote * 3, self.i) else quote
        self.i += len(delimiter)
        stops = _STRING_STOPS[quote]  # from one quote, escape or newline to the next
        while (found := stops.search(text, self.i)) is not None:
            self.i = found.start()
            char = text[self.i]
            if char == "\\":
                self.i += 1  # the escaped character is skipped below, a newline counted
                char = text[self.i] if self.i < len(text) else ""
                if char != "\n":
                    self.i += 1
                    continue
            if char == "\n":
                if len(delimiter) == 1:
                    return  # an unterminated string: tomllib reports it
                self.line += 1
                self.line_start = self.i + 1
            if text.startswith(delimiter, self.i):
                self.i += len(delimiter)
                while len(delimiter) == 3 and self.i < len(text) and text[self.i] == quote:
                    self.i += 1
                return
            self.i += 1
        self.i = len(text)

    def _position(self) -> Position:
        return self.line, self.i - self.line_start + 1
