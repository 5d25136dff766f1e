"""The local emulator of the Comwit API: same routes, fields, status codes and scopes.

A development and test tool, not a production server. Its web parts need the optional
`emulator` extra (fastapi, uvicorn); `require_extra` says so in one line when it is missing.
"""

from __future__ import annotations

import importlib.util
from types import TracebackType
from typing import Self

from comwit.errors import ComwitError

_EXTRA = ("fastapi", "uvicorn")


def require_extra() -> None:
    """Raise a one-line ComwitError when the `emulator` extra is not installed."""
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise ComwitError(
            f"The local emulator needs {' and '.join(missing)}: run pip install 'comwit[emulator]'."
        )


class Closing:
    """A handle on an emulator that `with` closes at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
