"""The embedded emulator behind `--api-url local`: served in this process, state kept on disk.

The caller picks the data directory (`.comwit/emulator/` next to the manifest), so
successive runs see the same apps and builds. Never chosen implicitly.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from comwit.emulator import Closing, require_extra
from comwit.emulator.store import SCOPES
from comwit.secret import Secret


class EmbeddedEmulator(Closing):
    """A running emulator with a token holding every scope, a member of one project."""

    def __init__(self, url: str, token: Secret, data_dir: Path, stack: ExitStack) -> None:
        self.url = url
        self.token = token
        self.data_dir = data_dir
        self._stack = stack

    @property
    def notice(self) -> str:
        """The line every run against it starts with."""
        return f"Using the local Comwit emulator (state in {self.data_dir}), not Comwit Cloud."

    def close(self) -> None:
        """Stop serving; the state stays on disk for the next run."""
        self._stack.close()


def start_embedded(data_dir: Path, *, project: str, auto_dns: bool = True) -> EmbeddedEmulator:
    """Serve the emulator on a free loopback port; `project` is created if missing.

    `auto_dns` (on by default here) treats attached hostnames' records as published, so a
    local `apply` can finalize hostnames without a real DNS zone.
    """
    require_extra()
    from comwit.emulator.server import serve_in_thread

    with ExitStack() as stack:
        fix = "fix or remove it"  # what the reason names last; there is no --data to pass
        running = stack.enter_context(serve_in_thread(data_dir, auto_dns=auto_dns, fix=fix))
        raw = running.issue_token(SCOPES, [project])
        stack.callback(running.store.revoke_token, raw)
        return EmbeddedEmulator(running.url, Secret(raw), data_dir, stack.pop_all())
