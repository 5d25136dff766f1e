"""Options shared by several commands, declared once."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from comwit.manifest import DEFAULT_FILE

ManifestFile = Annotated[
    Path,
    typer.Option("--file", "-f", help="The manifest.", show_default=True, dir_okay=True),
]
Environment = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Overlay [environments.NAME] over the manifest."),
]
Project = Annotated[
    str | None,
    typer.Option("--project", help="Project id (overrides the manifest; or COMWIT_PROJECT)."),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="API base URL (or COMWIT_API_URL); 'local' uses the embedded emulator.",
    ),
]
Apps = Annotated[
    list[str] | None,
    typer.Option("--app", help="Only apps matching this glob (repeatable)."),
]
ExcludeApps = Annotated[
    list[str] | None,
    typer.Option("--exclude-app", help="Skip apps matching this glob (repeatable)."),
]


class TextOrJson(enum.StrEnum):
    text = "text"
    json = "json"


OutputFormat = Annotated[TextOrJson, typer.Option("--format", help="text or json.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and data.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="More detail.")]

DEFAULT_MANIFEST = Path(DEFAULT_FILE)
