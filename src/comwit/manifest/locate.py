"""Positions of keys and array elements in a TOML document, for errors that name the place.

tomllib parses but keeps no positions, so this scanner walks text that tomllib has already
accepted and records where each key path and array element starts (1-based line, column).
"""

from __future__ import annotations

import bisect
import re
import tomllib

Path = tuple[str | int, ...]
Position = tuple[int, int]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}\n#")
_NEWLINE = re.compile("\n")
# Where a string token may end or escape: a basic string's quote or backslash, a literal's quote.
_STRING_STOPS = {'"': re.compile(r'["\\]'), "'": re.compile("'")}


def locate(text: str) -> dict[Path, Position]:
    """Map every key path (and array element path) of a valid TOML text to where it starts."""
    return _Scanner(text).scan()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text.replace("\r\n", "\n")
        self.i = 0
        self.line_starts = [0, *(m.end() for m in _NEWLINE.finditer(self.text))]
        self.positions: dict[Path, Position] = {}
        self.array_tables: dict[Path, int] = {}

    def scan(self) -> dict[Path, Position]:
        table: Path = ()
        while True:
            self._skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.positions
            if self.text.startswith("[[", self.i):
                table = self._array_table_header()
            elif self._peek() == "[":
                table = self._table_header()
            else:
                self._key_value(table)

    # -- structure --------------------------------------------------------------------

    def _table_header(self) -> Path:
        start = self._position()
        self.i += 1
        path = self._key()
        self._expect("]")
        self._mark_prefixes(path, start)
        return path

    def _array_table_header(self) -> Path:
        start = self._position()
        self.i += 2
        path = self._key()
        self._expect("]")
        self._expect("]")
        index = self.array_tables.get(path, 0)
        self.array_tables[path] = index + 1
        self._mark_prefixes(path, start)
        element: Path = (*path, index)
        self.positions.setdefault(element, start)
        return element

    def _key_value(self, table: Path) -> None:
        start = self._position()
        path = (*table, *self._key())
        self._mark_prefixes(path, start)
        self._skip_blank()
        self._expect("=")
        self._value(path)

    def _value(self, path: Path) -> None:
        self._skip_blank()
        char = self._peek()
        if char == "[":
            self._array(path)
        elif char == "{":
            self._inline_table(path)
        elif char in ('"', "'"):
            self._string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in _SCALAR_END:
                self.i += 1

    def _array(self, path: Path) -> None:
        self.i += 1
        index = 0
        while self.i < len(self.text):
            self._skip_blank(newlines=True)
            if self._peek() in ("]", ""):
                break
            self.positions.setdefault((*path, index), self._position())
            self._value((*path, index))
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.i += 1
            index += 1
        self._expect("]")

    def _inline_table(self, path: Path) -> None:
        self.i += 1
        while self.i < len(self.text):
            self._skip_blank(newlines=True)
            if self._peek() in ("}", ""):
                break
            start = self._position()
            key = (*path, *self._key())
            self._mark_prefixes(key, start)
            self._skip_blank()
            self._expect("=")
            self._value(key)
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self.i += 1
        self._expect("}")

    # -- tokens -----------------------------------------------------------------------

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._skip_blank()
            if self._peek() in ('"', "'"):
                parts.append(_decode_string(self._string()))
            else:
                start = self.i
                while self.i < len(self.text) and self.text[self.i] in _BARE_KEY:
                    self.i += 1
                parts.append(self.text[start : self.i])
            self._skip_blank()
            if self._peek() != ".":
                return tuple(parts)
            self.i += 1

    def _string(self) -> str:
        """Skip one string token and return its source text (quotes included)."""
        start = self.i
        quote = self.text[self.i]
        delimiter = quote * 3 if self.text.startswith(quote * 3, self.i) else quote
        self.i += len(delimiter)
        stops = _STRING_STOPS[quote]  # from one quote or escape to the next, not char by char
        while (found := stops.search(self.text, self.i)) is not None:
            self.i = found.start()
            if self.text[self.i] == "\\":
                self.i += 2
                continue
            if self.text.startswith(delimiter, self.i):
                self.i += len(delimiter)
                # A multi-line string may end with up to two extra quotes: `""""a"""""`.
                while len(delimiter) == 3 and self._peek() == quote:
                    self.i += 1
                break
            self.i += 1
        else:
            self.i = len(self.text)
        return self.text[start : self.i]

    def _skip_blank(self, *, newlines: bool = False) -> None:
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t" or (newlines and char == "\n"):
                self.i += 1
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def _expect(self, char: str) -> None:
        self._skip_blank()
        if self._peek() == char:
            self.i += 1

    def _peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def _position(self) -> Position:
        line = bisect.bisect_right(self.line_starts, self.i)
        return line, self.i - self.line_starts[line - 1] + 1

    def _mark_prefixes(self, path: Path, position: Position) -> None:
        for end in range(1, len(path) + 1):
            self.positions.setdefault(path[:end], position)


def _decode_string(source: str) -> str:
    try:
        value = tomllib.loads(f"k = {source}")["k"]
    except tomllib.TOMLDecodeError:
        return source.strip("\"'")
    return value if isinstance(value, str) else source
