"""`comwit pack`'s head start: pack on the manifest's word while a child process checks it.

A pack's start-up is serial: the interpreter, typer and its command line, then pydantic and
the manifest's models (0.1-0.2 s of one core), and only then the pack, which keeps both
cores busy. Here `main()` reads a plain `comwit pack APP -o FILE` before typer is loaded
(`read_pack_args`), the pack starts on what the raw TOML says (`comwit.manifest.peek`), and a
forked child validates the manifest meanwhile, out of this process's GIL. The archive replaces
`-o FILE` (and the stat cache learns the tree) only once the child has answered that the
validated app has the same build dir and excludes; on any other answer, or none, the
archive is dropped and the command packs as it always did, so every message and every byte
stay those of the validated manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from comwit.artifact.levels import DEFAULT_LEVEL, MAX_LEVEL
from comwit.cli.forked import Forked, forked
from comwit.cli.lasting import made_to_last
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_OK
from comwit.frozen import frozen
from comwit.manifest.find import nearest_manifest

if TYPE_CHECKING:
    from comwit.artifact.tree import TreeDigest
    from comwit.cli.edges import Edges


def answer_of(root: Path, build_dir: Path, exclude: tuple[str, ...]) -> bytes:
    """How the child says which build dir and excludes the validated manifest gives."""
    return json.dumps([str(root), str(build_dir), list(exclude)]).encode()


@frozen
class PackArgs:
    """`comwit pack APP -o FILE` as its command line reads it."""

    app: str
    out: Path
    manifest: Path | None  # -f FILE; None: the nearest comwit.toml, here or above
    env: str | None
    level: int


# The options `comwit pack` takes that do not write the archive to stdout, each with a value.
_OPTIONS = {
    "-o": "out",
    "--out": "out",
    "-f": "manifest",
    "--file": "manifest",
    "-e": "env",
    "--env": "env",
    "--level": "level",
}


def read_pack_args(args: Sequence[str]) -> PackArgs | None:
    """The arguments after `pack` when they take the plain forms typer reads one way only (one
    APP; `-o FILE`, `--out FILE` or `--out=FILE`, and the same of -f, -e and --level, each at
    most once, no value blank or starting with '-' but `-o -`); None for anything else (help,
    an option glued to its value, `--`, an unknown option, a level out of range): typer reads
    those. `out` is `-` for stdout (`-o ./-` too, as the command reads it)."""
    given: dict[str, str] = {}
    app = None
    words = iter(args)
    for word in words:
        name, equals, value = word.partition("=")
        if equals and name.startswith("--"):
            key = _OPTIONS.get(name)
        elif word in _OPTIONS:
            key, value = _OPTIONS[word], next(words, "")
        elif app is None and word.strip() and not word.startswith("-"):
            app = word
            continue
        else:
            return None
        if key is None or key in given or not value.strip():
            return None  # typer refuses a blank --env
        if value.startswith("-") and not (key == "out" and value == "-"):
            return None  # a value typer might read as an option
        given[key] = value
    level = given.get("level", str(DEFAULT_LEVEL))
    if app is None or not (level.isascii() and level.isdigit()):
        return None
    if not 1 <= int(level) <= MAX_LEVEL:
        return None
    manifest = given.get("manifest")
    return PackArgs(
        app=app,
        out=Path(given.get("out", f"{app}.tar.zst")),
        manifest=None if manifest is None else Path(manifest),
        env=given.get("env"),
        level=int(level),
    )


def pack_early(args: Sequence[str], edges: Edges) -> int | None:
    """`comwit pack ARGS` before typer is loaded: packed on the manifest's unvalidated word
    while a forked child validates it, and reported only when the child's validated app has
    the same build dir and excludes. None (nothing said, nothing written) when the arguments
    are not plainly read (`read_pack_args`), there is no manifest, the guess or the fork
    fails, or the child disagrees: then the command runs as it always did, and says what it
    always said."""
    given = read_pack_args(args)
    if given is None or "_COMWIT_COMPLETE" in os.environ:
        return None
    try:
        manifest, saying = (given.manifest, None) if given.manifest else nearest_manifest()
    except ComwitError:  # none: the command says so
        return None
    if not (_passes_typers_check(given.out) and _passes_typers_check(manifest)):
        return None  # the command refuses it, as typer's check of -o and -f does
    stdout = None
    if str(given.out) == "-":
        if edges.stdout.isatty() or not hasattr(edges.stdout, "buffer"):
            return None  # the command refuses a terminal, and says what a text stream does
        from comwit.cli.packing import binary_stdout

        stdout = binary_stdout(edges.stdout)
    # The child first: it validates while this process loads the packer.
    with forked(lambda: _validated_answer(manifest, given)) as child:
        if child is None:
            return None
        with made_to_last():
            from comwit.store.files import is_same_file

            console = edges.console()
        if stdout is None and is_same_file(given.out, manifest):  # refused by the command,
            return None  # after the manifest's own errors
        try:
            result = _pack_guessed(manifest, given, child, stdout)
        except BaseException:  # the validated manifest's own error, or a stop: said as the
            if saying is not None:  # command says it, the manifest found above named first
                console.info(saying)
            raise
    if result is None:
        return None
    if saying is not None:  # a manifest found above is named first, as the command names it
        console.info(saying)
    from comwit.cli.packing import report

    path, size, tree = result
    # With the archive on stdout, the report goes to stderr.
    report(console, path, size, tree, say=console.print if stdout is None else console.info)
    return EXIT_OK


def _passes_typers_check(path: Path) -> bool:
    from comwit.cli.paths import TyperDefaults, checked_path

    try:
        checked_path(path, TyperDefaults())
    except ValueError:
        return False
    return True


def _validated_answer(manifest: Path, given: PackArgs) -> bytes:
    """What the forked child answers: the validated app's build dir and excludes."""
    from comwit.cli.packing import validated

    build = validated(manifest, given.env, given.app)
    return answer_of(build.root, build.build_dir, build.exclude)


def _pack_guessed(
    manifest: Path, given: PackArgs, child: Forked, stdout: BinaryIO | None
) -> tuple[str, int, TreeDigest] | None:
    """The pack on the raw manifest's guess, into `-o FILE` or `stdout`, kept when the child
    agrees: its path as the report names it, size and tree. None when there is no guess or
    the child disagrees (a pack error the child agrees with is raised)."""
    with made_to_last():
        from comwit.artifact.pack import pack_if, pack_stream
        from comwit.artifact.stat_cache import StatCache, stat_cache_dir
        from comwit.manifest.peek import guess_build

    guess = guess_build(manifest, given.app, given.env)
    if guess is None:
        return None
    expected = answer_of(guess.root, guess.build_dir, guess.exclude)

    def agrees() -> bool:
        return child.answer() == expected

    cache = StatCache.open(stat_cache_dir(guess.root), guess.build_dir)
    held = None if stdout is None else _Held(stdout, child.ready, agrees)
    try:
        if held is None:
            packed = pack_if(
                guess.build_dir,
                given.out,
                agrees,
                exclude=guess.exclude,
                level=given.level,
                cache=cache,
            )
            return None if packed is None else (str(packed.path), packed.size, packed.tree)
        size, tree = pack_stream(
            guess.build_dir,
            cast("BinaryIO", held),
            exclude=guess.exclude,
            level=given.level,
            cache=cache,
            confirm=agrees,
        )
    except ComwitError:
        if agrees():  # the validated manifest packs the same: its pack fails the same way
            if held is not None:
                held.release()  # what the command would have written by then
            raise
        return None
    if not agrees():
        return None
    held.release()
    return "-", size, tree


_HOLD_BYTES = 64 << 20  # past this much archive held back, the child's answer is waited for


class _Disagreed(ComwitError):
    """The child's validated manifest is not the one packed: stop packing into stdout."""


class _Held:
    """Stdout for the archive, held back until the child agrees (asked without waiting at
    each write, waited for once `_HOLD_BYTES` are held), then written through: nothing
    reaches stdout from a pack the validated manifest would not make."""

    def __init__(
        self, sink: BinaryIO, ready: Callable[[], bool], agrees: Callable[[], bool]
    ) -> None:
        self._sink, self._ready, self._agrees = sink, ready, agrees
        self._held: list[bytes] = []
        self._size = 0
        self._open = False

    def write(self, data: bytes) -> int:
        if self._open:
            return self._sink.write(data)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size > _HOLD_BYTES or self._ready():
            if not self._agrees():
                raise _Disagreed("the validated manifest packs another tree")
            self.release()
        return len(data)

    def flush(self) -> None:
        if self._open:
            self._sink.flush()

    def release(self) -> None:
        """Write what is held, and write through from now on."""
        if self._open:
            return
        from comwit.artifact.pack import OutputError

        self._open = True
        try:
            for chunk in self._held:
                self._sink.write(chunk)
            self._sink.flush()
        except OSError as exc:
            raise OutputError(exc) from exc
        finally:
            self._held.clear()
