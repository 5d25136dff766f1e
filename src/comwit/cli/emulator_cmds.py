"""`comwit emulator ...`: run and administer the local emulator of the Comwit API."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
