"""Files comwit writes (saved plans, caches, the local ledger, manifests): whole or not at all;
and its own JSON files read back, each refused in one line that names what is wrong."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comwit import __version__
from comwit.errors import ComwitError, PlanError
from comwit.escape import MAX_PATH_SHOWN, cut, cut_path, one_line, quoted
from comwit.frozen import frozen
from comwit.store.regular import read_regular, require_regular
from comwit.terminate import held_off

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pydantic import ValidationError


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same directory, renamed. A FIFO,
    socket or device at `path` is NotRegularFile (a rename would replace the node), and a
    directory IsADirectoryError (`.` as well, whose rename would say "busy")."""
    found = _mode_of(path)
    if found is not None:
        require_regular(path, found)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(found) if found is not None else 0o666 & ~_umask()
    temporary = file = None
    try:
        with held_off():  # a stop as the file is made still finds it named and open
            handle, temporary = create_beside(path, ".tmp")
            file = os.fdopen(handle, "wb")
        with file:
            os.fchmod(file.fileno(), mode)
            file.write(data.encode() if isinstance(data, str) else data)
        temporary.replace(path)
    except BaseException:
        if file is not None:
            file.close()
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise


_NAMES_TRIED = 100  # a clash is one in four billion: many means something else is wrong


def create_beside(path: Path, suffix: str, mode: int = 0o600) -> tuple[int, Path]:
    """A new file (its descriptor, open for writing, and its path) beside `path`, named
    `.NAME.RANDOM{suffix}`: as tempfile.mkstemp makes one (O_EXCL, no link followed), without
    importing tempfile (with shutil, bz2 and lzma: a tenth of a pack's start-up)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for candidate in _names_beside(path, suffix):
        try:
            return os.open(candidate, flags, mode), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path} after {_NAMES_TRIED} tries")


def free_name_beside(path: Path, suffix: str) -> Path:
    """A name beside `path` that nothing holds now, `.NAME.RANDOM{suffix}` (for a rename: the
    file itself is not made); FileExistsError after as many tries as `create_beside`."""
    for candidate in _names_beside(path, suffix):
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"no free temporary name beside {path} after {_NAMES_TRIED} tries")


_NAME_MAX = 255  # bytes in one file name, on Linux's file systems and macOS's


def _names_beside(path: Path, suffix: str) -> Iterator[Path]:
    """`.NAME.RANDOM{suffix}`, NAME cut so that the whole fits in a file name wherever
    `path`'s own does (a 250-character -o is legal; its temporary name must be too)."""
    room = _NAME_MAX - len(f"..{'0' * 8}{suffix}".encode())
    name = os.fsencode(path.name)[:room].decode(errors="ignore")  # never half a character
    for _ in range(_NAMES_TRIED):
        yield path.with_name(f".{name}.{os.urandom(4).hex()}{suffix}")


def is_same_file(path: Path, other: Path) -> bool:
    """Whether `path` and `other` name one existing file, through links and `..` alike: an
    output that would be written over an input (`-o comwit.toml`) is refused by it."""
    try:
        return path.samefile(other)
    except OSError:
        return False


def _mode_of(path: Path) -> int | None:
    """`path`'s st_mode, None when there is no file there yet. A file written again keeps its
    permissions; a new one gets what `open(path, "w")` would give it (0o666 less the umask),
    not mkstemp's 0o600, which would keep a manifest or a saved plan from the rest of the team."""
    try:
        return path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the parent's mkdir says what is wrong
        return None


def _umask() -> int:
    """The process's umask: read where Linux shows it, else set and restored at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Another run holds a file's lock for one read and write; waiting longer means it is stopped.
LOCK_SECONDS = 30.0
_LOCK_POLL = 0.05


class LockTimeoutError(OSError):
    """Another process kept a file comwit shares between runs locked for too long."""


@contextlib.contextmanager
def locked(
    path: Path,
    *,
    seconds: float = LOCK_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold `path`'s lock (`path`.lock) while the block reads and writes `path`: other comwit
    runs on this machine wait, for `seconds` at most by `clock` (then LockTimeoutError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as lock:
        deadline = clock() + seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    raise LockTimeoutError(
                        f"{lock_path} stayed locked by another comwit process for {seconds:g} s; "
                        "is one stopped or hung?"
                    ) from None
                sleep(_LOCK_POLL)
        yield


def write_text(path: Path, text: str, *, hint: str = "") -> None:
    """Write a file the user asked for (a manifest) whole or not at all; one that cannot be
    written is a ComwitError naming it, why, and `hint` when there is something to do."""
    then = f"; {hint}" if hint else ""
    shown = cut_path(path)
    _write_or_raise(path, text, lambda why: ComwitError(f"cannot write {shown} ({why}){then}"))


def write_json(path: Path, document: object, *, what: str, ensure_ascii: bool) -> None:
    """`document` as indented JSON with sorted keys and a final newline, whole or not at all;
    one that cannot be written is a PlanError naming `what` it is and where. Saved plans are
    UTF-8, result files escape what is not ASCII (`ensure_ascii`): each keeps its bytes."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    shown = cut_path(path)
    if "\\u" in text and _holds_half_a_character(document):  # as read_document would refuse it
        raise PlanError(f"cannot write the {what} to {shown}: {_NOT_UTF8}")
    _write_or_raise(
        path, text + "\n", lambda why: PlanError(f"cannot write the {what} to {shown}: {why}")
    )


# What a file name or command-line value that is not UTF-8 (kept as surrogates) makes of a file.
_NOT_UTF8 = (
    "a name in it is not UTF-8 text (a file or directory name, or a value given on the "
    "command line); rename it"
)


def _write_or_raise(path: Path, data: str, error: Callable[[str], Exception]) -> None:
    """`write_atomically`; an OSError becomes `error(why)`, why being its strerror (its
    class's name when it has none)."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise error(exc.strerror or type(exc).__name__) from exc
    except UnicodeEncodeError:
        raise error(_NOT_UTF8) from None


def _holds_half_a_character(document: object) -> bool:
    """Whether a string in `document` holds a lone surrogate, which JSON's \\u escapes can
    spell and no UTF-8 text holds (it would fail wherever it is written or used as a path)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


@frozen
class JsonKind:
    """A JSON file of comwit's own, as messages about reading one back name it."""

    kind: str  # its "kind" field: "comwit-plan"
    what: str  # "saved plan"
    writer: str  # the command that writes one: "comwit plan --out"
    max_bytes: int  # more than any such file: reading stops past it (a device, a wrong file)
    version: int = 1  # the `format_version` this comwit reads (see `require_format`)


def read_document(path: Path, of: JsonKind) -> dict[str, Any]:
    """The JSON object in `path`, which says it is of `of.kind`; else a one-line PlanError
    naming the file, what is wrong and, where it helps, the command that writes one."""
    asked = f"was it written by `{of.writer}`?"
    try:
        data = read_regular(path, of.max_bytes)
    except FileNotFoundError:
        shown = cut_path(path)
        raise PlanError(f"{shown}: no such file; make one with `{of.writer} {shown}`") from None
    except OSError as exc:
        raise PlanError(f"{cut_path(path)}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > of.max_bytes:
        size = f"{of.max_bytes // 2**20} MiB"
        raise PlanError(f"{path}: is larger than {size}, more than any {of.what}; {asked}")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PlanError(f"{path}: is not UTF-8 text; {asked}") from None
    except (ValueError, RecursionError):
        raise PlanError(f"{path}: is not JSON; {asked}") from None
    if b"\\u" in data and _holds_half_a_character(document):
        raise PlanError(f"{path}: is not UTF-8 text; {asked}")
    if not isinstance(document, dict) or document.get("kind") != of.kind:
        raise PlanError(f'{path}: is not a comwit {of.what} (no "kind": "{of.kind}")')
    return document


def require_format(path: Path, document: dict[str, Any], of: JsonKind, *, again: str) -> None:
    """Refuse a document whose `format_version` is not the integer `of.version`: JSON's `true`
    and `1.0` equal 1 in Python, and pydantic's lax mode takes them; `again` says what to do."""
    version = document.get("format_version", _NO_FORMAT)
    if type(version) is int and version == of.version:
        return
    raise PlanError(
        f"{path}: {of.what} format {_shown_format(version)} is not supported by comwit "
        f"{__version__} (it reads format {of.version}); {again}"
    )


_NO_FORMAT = object()


def _shown_format(version: object) -> str:
    if version is _NO_FORMAT:
        return "(none)"
    if isinstance(version, str):
        return quoted(version)
    if isinstance(version, list | dict):
        return "[...]" if isinstance(version, list) else "{...}"
    return json.dumps(version)  # true, 1.0, null: as the file spells them


def first_problem(exc: ValidationError) -> str:
    """The first thing wrong with a document read back, as `field.path: what`."""
    first = exc.errors(include_url=False)[0]
    where = cut(".".join(str(part) for part in first["loc"]), MAX_PATH_SHOWN)
    return one_line(f"{where}: {cut(first['msg'], MAX_PATH_SHOWN)}")  # msg may echo the input
