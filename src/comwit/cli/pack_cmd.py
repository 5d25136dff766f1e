"""`comwit pack`: pack one app's build dir into a reproducible .tar.zst."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
