"""Commands that read only the manifest: `validate` and `schema`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    del app
