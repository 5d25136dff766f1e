"""`comwit pack`: pack one app's build dir into a reproducible .tar.zst."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, BinaryIO, NamedTuple

import typer

from comwit.artifact.pack import DEFAULT_LEVEL, MAX_LEVEL, pack_stream
from comwit.artifact.pack import pack as pack_tree
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.artifact.tree import TreeDigest
from comwit.cli.ahead import answer_of, pack_ahead
from comwit.cli.app import made_to_last
from comwit.cli.settings import MANIFEST, Settings, command, refuse_manifest_as_output
from comwit.console import Console
from comwit.errors import ArtifactError
from comwit.escape import quoted
from comwit.exit_codes import EXIT_OK
from comwit.store.files import is_same_file


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
        build = _validated(settings, app)
        cache = StatCache.open(stat_cache_dir(build.root), build.build_dir)
        sink = _binary_stdout(settings)
        size, tree = pack_stream(
            build.build_dir, sink, exclude=build.exclude, level=level, cache=cache
        )
        _report(console, "-", size, tree, say=console.info)  # stdout holds the archive
        return EXIT_OK
    out = out or Path(f"{app}.tar.zst")
    manifest = settings.manifest
    result = None
    if not is_same_file(out, manifest):  # refused below, after the manifest's own errors
        result = pack_ahead(
            manifest, app, settings.env, out, level, lambda: _validated_answer(settings, app)
        )
    if result is None:
        build = _validated(settings, app)
        cache = StatCache.open(stat_cache_dir(build.root), build.build_dir)
        refuse_manifest_as_output(out, build.manifest, "write")
        result = pack_tree(
            build.build_dir,
            out,
            exclude=build.exclude,
            level=level,
            cache=cache,
        )
    _report(console, str(result.path), result.size, result.tree, say=console.print)
    return EXIT_OK


class _Build(NamedTuple):
    manifest: Path
    root: Path  # the manifest's directory, whose .comwit/ holds the stat cache
    build_dir: Path
    exclude: tuple[str, ...]


def _validated(settings: Settings, app: str) -> _Build:
    """The app's build dir as the validated manifest says. Pydantic is imported here (reading
    argv needs none), after start-up froze its objects; so its objects and the models, which
    live as long as the process, are made as the rest of start-up (`cli.app.made_to_last`)."""
    manifest = settings.manifest
    with made_to_last():
        from comwit.manifest.load import display_name, load_manifest

        loaded = load_manifest(manifest, env=settings.env)
    config = loaded.apps.get(app)
    if config is None:
        known = ", ".join(sorted(loaded.apps)) or "none"
        raise ArtifactError(f"{display_name(manifest)} has no app {quoted(app)} (apps: {known})")
    if config.build_dir is None:
        raise ArtifactError(
            f"app {quoted(app)} in {display_name(manifest)} has no build_dir (it pins a build); "
            "there is nothing to pack"
        )
    return _Build(loaded.path, loaded.root, config.build_dir, config.exclude)


def _validated_answer(settings: Settings, app: str) -> bytes:
    """What a forked child tells `pack_ahead`: the validated app's build dir and excludes."""
    build = _validated(settings, app)
    return answer_of(build.root, build.build_dir, build.exclude)


def _report(
    console: Console, path: str, size: int, tree: TreeDigest, say: Callable[[str], None]
) -> None:
    for warning in tree.warnings:
        console.warn(warning)
    files = sum(1 for f in tree.files if f.kind != "dir")
    say(f"path: {path}")
    say(f"size: {size} bytes")
    say(f"files: {files} ({tree.total_size} bytes before compression)")
    say(f"digest: {tree.digest}")


def _binary_stdout(settings: Settings) -> BinaryIO:
    stdout = settings.edges.stdout
    if stdout.isatty():
        raise ArtifactError(
            "-o - writes the archive to stdout, which is a terminal; redirect it "
            "(`comwit pack APP -o - > app.tar.zst`) or pass -o FILE"
        )
    stdout.flush()
    binary: BinaryIO = stdout.buffer
    return binary
