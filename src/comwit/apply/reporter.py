"""What the executor tells as it goes: steps done and bytes moved, to whoever shows them.

The executor only calls these methods; how they look (bars, log lines) is `render.progress`.
Pack progress arrives from the packing thread, so implementations must be safe to call from it.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def step(self, app: str, text: str) -> None:
        """An action finished (or a notable thing happened) for `app`."""

    def transfer(self, app: str, verb: str, total: int) -> Transfer:
        """Start a byte transfer (`verb` is "packing" or "uploading")."""

    def close(self) -> None: ...


class Transfer(Protocol):
    def advance(self, done: int) -> None:
        """`done` bytes so far (absolute, not a delta)."""

    def finish(self, size: int) -> None: ...


class QuietReporter:
    def step(self, app: str, text: str) -> None:
        del app, text

    def transfer(self, app: str, verb: str, total: int) -> Transfer:
        del app, verb, total
        return _NoTransfer()

    def close(self) -> None:
        return None


class _NoTransfer:
    def advance(self, done: int) -> None:
        del done

    def finish(self, size: int) -> None:
        del size
