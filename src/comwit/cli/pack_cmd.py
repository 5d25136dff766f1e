"""`comwit pack`: pack one app's build dir into a reproducible .tar.zst."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from comwit.artifact.pack import DEFAULT_LEVEL, MAX_LEVEL
from comwit.artifact.pack import pack as pack_tree
from comwit.cli.settings import MANIFEST, Settings, command
from comwit.errors import ArtifactError
from comwit.exit_codes import EXIT_OK
from comwit.manifest import load_manifest
from comwit.manifest.load import display_name


@command(MANIFEST)
def pack(
    settings: Settings,
    app: Annotated[
        str, typer.Argument(help="The app whose build_dir to pack.", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The .tar.zst to write [default: APP.tar.zst]."),
    ] = None,
    level: Annotated[
        int, typer.Option("--level", min=1, max=MAX_LEVEL, help="zstd compression level.")
    ] = DEFAULT_LEVEL,
) -> int:
    """Pack an app's build_dir as `apply` uploads it; print the path, size and tree digest."""
    console, manifest = settings.console, settings.manifest
    loaded = load_manifest(manifest, env=settings.env)
    config = loaded.apps.get(app)
    if config is None:
        known = ", ".join(sorted(loaded.apps)) or "none"
        raise ArtifactError(f"{display_name(manifest)} has no app {app!r} (apps: {known})")
    if config.build_dir is None:
        raise ArtifactError(
            f"app {app!r} in {display_name(manifest)} has no build_dir (it pins a build); "
            "there is nothing to pack"
        )
    result = pack_tree(
        config.build_dir, out or Path(f"{app}.tar.zst"), exclude=config.exclude, level=level
    )
    for warning in result.tree.warnings:
        console.warn(warning)
    files = sum(1 for f in result.tree.files if f.kind != "dir")
    console.print(f"path: {result.path}")
    console.print(f"size: {result.size} bytes")
    console.print(f"files: {files} ({result.tree.total_size} bytes before compression)")
    console.print(f"digest: {result.tree.digest}")
    return EXIT_OK
