"""`comwit pack`: pack one app's build dir into a reproducible .tar.zst."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from comwit.artifact.levels import DEFAULT_LEVEL, MAX_LEVEL
from comwit.artifact.pack import pack as pack_tree
from comwit.artifact.pack import pack_stream
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.cli.packing import binary_stdout, report, validated
from comwit.cli.settings import MANIFEST, Settings, command, refuse_manifest_as_output
from comwit.exit_codes import EXIT_OK


@command(MANIFEST)
def pack(
    settings: Settings,
    app: Annotated[
        str, typer.Argument(help="The app whose build_dir to pack.", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The .tar.zst to write, '-' for stdout [default: APP.tar.zst].",
            metavar="FILE",
        ),
    ] = None,
    level: Annotated[
        int, typer.Option("--level", min=1, max=MAX_LEVEL, help="zstd compression level.")
    ] = DEFAULT_LEVEL,
) -> int:
    """Pack an app's build_dir as `apply` uploads it; print the path, size and tree digest.

    The build dir's stat cache (the one `plan` keeps) spares hashing unchanged files, and
    learns this tree: a pack or plan after it hashes nothing that did not change."""
    console = settings.console
    if str(out) == "-":
        build = validated(settings.manifest, settings.env, app)
        cache = StatCache.open(stat_cache_dir(build.root), build.build_dir)
        sink = binary_stdout(settings.edges.stdout)
        size, tree = pack_stream(
            build.build_dir, sink, exclude=build.exclude, level=level, cache=cache
        )
        report(console, "-", size, tree, say=console.info)  # stdout holds the archive
        return EXIT_OK
    out = out or Path(f"{app}.tar.zst")
    build = validated(settings.manifest, settings.env, app)
    cache = StatCache.open(stat_cache_dir(build.root), build.build_dir)
    refuse_manifest_as_output(out, build.manifest, "write")
    result = pack_tree(build.build_dir, out, exclude=build.exclude, level=level, cache=cache)
    report(console, str(result.path), result.size, result.tree, say=console.print)
    return EXIT_OK
