"""What `comwit pack` reads from the manifest and says of its archive, typer-free: the early
pack (`comwit.cli.ahead`) uses it before typer is loaded, the command after."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, TextIO

from comwit.cli.lasting import made_to_last
from comwit.errors import ArtifactError, ManifestError
from comwit.escape import quoted

if TYPE_CHECKING:  # the forked child that validates needs neither
    from comwit.artifact.tree import TreeDigest
    from comwit.console import Console


class Build(NamedTuple):
    manifest: Path
    root: Path  # the manifest's directory, whose .comwit/ holds the stat cache
    build_dir: Path
    exclude: tuple[str, ...]


def validated(manifest: Path, env: str | None, app: str) -> Build:
    """The app's build dir as the validated manifest says. Pydantic is imported here (reading
    argv needs none), after start-up froze its objects; so its objects and the models, which
    live as long as the process, are made as the rest of start-up (`cli.lasting`)."""
    with made_to_last():
        from comwit.manifest.load import display_name, load_manifest

        loaded = load_manifest(manifest, env=env)
    config = loaded.apps.get(app)
    if config is None:
        known = ", ".join(sorted(loaded.apps)) or "none"
        raise ArtifactError(f"{display_name(manifest)} has no app {quoted(app)} (apps: {known})")
    if config.build_dir is None:
        raise ArtifactError(
            f"app {quoted(app)} in {display_name(manifest)} has no build_dir (it pins a build); "
            "there is nothing to pack"
        )
    from comwit.manifest.checks import build_dir_problems

    # What validate and plan refuse, said as they say it: a build dir that is missing, holds
    # a NUL, or lies outside the repository (a pack would publish it just the same).
    if problems := build_dir_problems(loaded, {app}):
        raise ManifestError(problems)
    return Build(loaded.path, loaded.root, config.build_dir, config.exclude)


def report(
    console: Console, path: str, size: int, tree: TreeDigest, say: Callable[[str], None]
) -> None:
    """What a pack prints: the tree's warnings, then the archive's path, size and digest."""
    for warning in tree.warnings:
        console.warn(warning)
    files = sum(1 for f in tree.files if f.kind != "dir")
    say(f"path: {path}")
    say(f"size: {size} bytes")
    say(f"files: {files} ({tree.total_size} bytes before compression)")
    say(f"digest: {tree.digest}")


def binary_stdout(stream: TextIO) -> BinaryIO:
    """The bytes under `stream` for `-o -`, what it buffered flushed first; ArtifactError when
    it is a terminal, which an archive would garble."""
    if stream.isatty():
        raise ArtifactError(
            "-o - writes the archive to stdout, which is a terminal; redirect it "
            "(`comwit pack APP -o - > app.tar.zst`) or pass -o FILE"
        )
    stream.flush()
    binary: BinaryIO = stream.buffer
    return binary
