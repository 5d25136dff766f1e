"""The local emulator of the Comwit API: same routes, fields, status codes and scopes.

A development and test tool, not a production server. Its web parts need the optional
`emulator` extra (fastapi, uvicorn); `require_extra` says so in one line when it is missing.
"""

from __future__ import annotations

import importlib.util

from comwit.errors import ComwitError

_EXTRA = ("fastapi", "uvicorn")


def require_extra() -> None:
    """Raise a one-line ComwitError when the `emulator` extra is not installed."""
    missing = [name for name in _EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise ComwitError(
            f"The local emulator needs {' and '.join(missing)}: run pip install 'comwit[emulator]'."
        )
