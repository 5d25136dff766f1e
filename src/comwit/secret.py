"""Secrets (the API token): a wrapper that never prints itself, and a redactor for text.

Every value wrapped in `Secret` is remembered for the life of the process so that any text
leaving comwit (output, errors, files) can be scrubbed of it with `redact`.
"""

from __future__ import annotations

from typing import Final

HIDDEN: Final = "<hidden>"
_known: set[str] = set()


class Secret:
    """A string that shows as `<hidden>` in str(), repr(), f-strings and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if value:
            _known.update(_forms(value))

    def reveal(self) -> str:
        """The real value: only for the Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({HIDDEN})"

    def __str__(self) -> str:
        return HIDDEN

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _forms(value: str) -> set[str]:
    """`value`, and the escaped forms a message may show it in when it holds a control
    character or one that is not ASCII (an HTTP library echoes a header it refuses as bytes)."""
    forms = {value}
    if not value.isascii() or not value.isprintable():
        forms.add(value.encode("unicode_escape").decode("ascii"))
        forms.add(repr(value.encode("utf-8", "backslashreplace"))[2:-1])
    return forms


def redact(text: str) -> str:
    """Replace every secret this process has seen with `<hidden>`."""
    for value in sorted(_known, key=len, reverse=True):  # longest first: one may contain another
        if value in text:
            text = text.replace(value, HIDDEN)
    return text
