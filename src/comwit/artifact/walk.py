"""Build dir, first step of digesting and packing: list the tree in archive order.

The walk refuses what cannot be deployed (symlinks leaving the build dir, sockets, FIFOs,
devices, names that are not UTF-8, an empty tree) before anything is read or written.
"""

from __future__ import annotations

import operator
import os
import posixpath
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from comwit.artifact.ignore import Excluder, load_excluder, secret_pattern, vcs_pattern
from comwit.artifact.tree import EntryKind
from comwit.errors import ArtifactError, os_reason
from comwit.escape import one_line
from comwit.frozen import frozen

MAX_FILE_SIZE = 0o77777777777  # the largest size a ustar header holds: 8 GiB - 1
_SHOWN = 5  # paths a warning names before "and N more"
INO_MASK = (1 << 63) - 1  # inodes as the stat cache keeps them: in an int64

# For valid UTF-8 names (`_node` refuses others) code point order is UTF-8 byte order.
_NAME = operator.attrgetter("name")
_NEW = tuple.__new__  # a Node from a tuple, without NamedTuple's Python-level __new__

_SPECIAL = {
    stat.S_IFSOCK: "a socket",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class Node(NamedTuple):
    """One walked entry. A NamedTuple: tens of thousands are made per walk."""

    rel: str  # POSIX path relative to the build dir, without "./" or a trailing "/"
    kind: EntryKind
    size: int  # bytes for files, 0 otherwise
    executable: bool  # the owner's execute bit, for files
    target: str  # for symlinks, "" otherwise
    # For files, what the stat cache compares: any change to the file changes one of them.
    # For directories, taken before they were listed: adding, removing or renaming an
    # entry in a directory changes its mtime and ctime.
    mtime_ns: int = 0
    ctime_ns: int = 0
    ino: int = 0


@frozen
class Tree:
    """A walked build dir: `nodes` in archive order (each dir before its contents)."""

    root: Path
    nodes: tuple[Node, ...]
    warnings: tuple[str, ...]
    rules: bytes = b""  # the key of the exclude rules (`ignore.rules_key`)
    # The build dir's own (mtime_ns, ctime_ns, inode), taken before it was listed: the
    # stat cache's proof that no entry was added or removed there (see `Node`).
    root_stamps: tuple[int, int, int] = (0, 0, 0)


def walk(build_dir: Path, exclude: Sequence[str] = ()) -> Tree:
    """Walk `build_dir`, leaving out excluded paths; raise ArtifactError on anything unsafe."""
    walker = Walker(build_dir, exclude)
    nodes = tuple(walker)
    return walker.tree(nodes)


class Walker:
    """The build dir's nodes, one at a time, so packing can start before the walk ends.

    Each directory's entries are sorted by name (UTF-8 bytes), depth first: the order of
    `tar --sort=name -C DIR .`. Iterating raises ArtifactError on anything unsafe, and at
    the end when there was nothing to pack; `warnings` fills up along the way.
    """

    def __init__(self, build_dir: Path, exclude: Sequence[str] = ()) -> None:
        self.root = Path(check_root(build_dir))
        self.warnings: list[str] = []
        self.root_stamps = (0, 0, 0)
        self._excluder = load_excluder(self.root, exclude)
        self._flagged: dict[str, str] = {}  # path that should perhaps not be uploaded -> pattern

    def tree(self, nodes: Sequence[Node]) -> Tree:
        """The walked tree, once iterating has ended."""
        return Tree(self.root, tuple(nodes), tuple(self.warnings), self.rules, self.root_stamps)

    @property
    def rules(self) -> bytes:
        return self._excluder.rules

    def leaves_out(self, path: Path, *, is_dir: bool = False) -> bool:
        """Whether `path` (resolved, under the root) is outside the tree this walk yields."""
        rel = PurePosixPath(path.relative_to(self.root).as_posix())
        return self._excluder.leaves_out(rel, is_dir=is_dir)

    def __iter__(self) -> Iterator[Node]:
        root, excluder, flagged = str(self.root), self._excluder, self._flagged
        files = 0
        self.root_stamps = dir_stamps(root)
        stack = [(_entries(root, root, ""), "")]
        while stack:
            entries, prefix = stack[-1]
            for entry in entries:
                node = _node(root, entry, prefix + entry.name, excluder)
                if node is None:
                    continue
                yield node
                if node.kind == "dir":
                    rel = node.rel + "/"
                    if (pattern := vcs_pattern(entry.name)) is not None:
                        flagged[rel] = pattern
                    stack.append((_entries(root, entry.path, rel), rel))
                    break
                files += 1
                if (pattern := secret_pattern(entry.name)) is not None:
                    flagged[node.rel] = pattern
            else:
                stack.pop()
        if flagged:
            self.warnings.append(_flagged_warning(root, flagged))
        if not files:
            raise ArtifactError(
                f"build dir {root} has no files to pack (after excludes); build the app "
                "first, or check `build_dir` and `exclude`",
                path=root,
            )


def _flagged_warning(root: str, flagged: dict[str, str]) -> str:
    """One warning per build dir, however many paths it names (escaped: a file name may
    hold a newline or a terminal escape)."""
    root = one_line(root)
    flagged = {one_line(path): pattern for path, pattern in flagged.items()}
    patterns = ", ".join(f'"{p}"' for p in dict.fromkeys(flagged.values()))
    advice = f"add {patterns} to the app's `exclude` setting to leave"
    if len(flagged) == 1:
        (path,) = flagged
        kind = "version-control data" if path.endswith("/") else "a secret"
        return f"{path} in {root} looks like {kind} and will be uploaded; {advice} it out"
    shown = ", ".join(list(flagged)[:_SHOWN])
    more = f" and {len(flagged) - _SHOWN} more" if len(flagged) > _SHOWN else ""
    return (
        f"{len(flagged)} paths in {root} look like secrets or version-control data and will "
        f"be uploaded: {shown}{more}; {advice} them out"
    )


def check_root(build_dir: Path) -> str:
    """The build dir's real path; ArtifactError when it is missing or not a directory."""
    try:
        st = build_dir.stat()
    except FileNotFoundError:
        raise ArtifactError(
            f"build dir {build_dir} does not exist; build the app first or fix `build_dir`",
            path=str(build_dir),
        ) from None
    except OSError as exc:
        raise ArtifactError(
            f"cannot read build dir {build_dir}: {os_reason(exc)}", path=str(build_dir)
        ) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise ArtifactError(
            f"build dir {build_dir} is not a directory; fix `build_dir`", path=str(build_dir)
        )
    return os.path.realpath(build_dir)


def _entries(root: str, path: str, prefix: str) -> Iterator[os.DirEntry[str]]:
    """The directory's entries sorted by name; `prefix` is its path relative to the root."""
    try:
        with os.scandir(path) as it:
            return iter(sorted(it, key=_NAME))
    except OSError as exc:
        shown = prefix.rstrip("/") or "."
        raise ArtifactError(
            f"cannot read directory {shown} in {root}: {os_reason(exc)}", path=path
        ) from exc


def dir_stamps(root: str) -> tuple[int, int, int]:
    """The build dir's own (mtime_ns, ctime_ns, inode), as `Tree.root_stamps` keeps them."""
    try:
        st = os.lstat(root)
    except OSError as exc:
        raise ArtifactError(f"cannot read build dir {root}: {os_reason(exc)}", path=root) from exc
    return stamps(st)


def _node(root: str, entry: os.DirEntry[str], rel: str, excluder: Excluder) -> Node | None:
    # The kind comes with the directory listing (d_type): a left-out directory needs no
    # lstat, a kept one gets it before it is listed.
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
        st = None if is_dir else entry.stat(follow_symlinks=False)
    except OSError as exc:
        raise _unreadable(root, entry, rel, exc) from exc
    if excluder.excludes(rel, entry.name, is_dir=is_dir):
        return None
    if not entry.name.isascii():
        _check_utf8(root, rel, rel)
    if st is None:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            raise _unreadable(root, entry, rel, exc) from exc
        return _NEW(Node, (rel, "dir", 0, False, "", *stamps(st)))
    mode = st.st_mode
    if stat.S_ISREG(mode):
        if st.st_size > MAX_FILE_SIZE:
            raise ArtifactError(
                f"{rel} in {root} is 8 GiB or larger, which a tar header cannot hold; "
                "add it to `exclude`",
                path=entry.path,
            )
        return _NEW(Node, (rel, "file", st.st_size, bool(mode & stat.S_IXUSR), "", *stamps(st)))
    if stat.S_ISLNK(mode):
        return Node(rel, "symlink", 0, False, link_target(root, entry.path, rel))
    kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
    raise ArtifactError(
        f"{rel} in {root} is {kind}; only files, directories and symlinks can be deployed: "
        "remove it or add it to `exclude`",
        path=entry.path,
    )


def stamps(st: os.stat_result) -> tuple[int, int, int]:
    """What tells an entry changed besides its size: (mtime_ns, ctime_ns, inode)."""
    return st.st_mtime_ns, st.st_ctime_ns, st.st_ino & INO_MASK


def _unreadable(root: str, entry: os.DirEntry[str], rel: str, exc: OSError) -> ArtifactError:
    return ArtifactError(f"cannot read {rel} in {root}: {os_reason(exc)}", path=entry.path)


def link_target(root: str, path: str, rel: str) -> str:
    """The symlink's target, when it stays inside the build dir (checked both ways:
    by its text, and by resolving it, since it may pass through other symlinks)."""
    try:
        target = os.readlink(path)  # noqa: PTH115 (no Path per symlink: a tree has thousands)
    except OSError as exc:
        raise ArtifactError(
            f"cannot read symlink {rel} in {root}: {os_reason(exc)}", path=path
        ) from exc
    if not target.isascii():
        _check_utf8(root, rel, target)
    if posixpath.isabs(target):
        raise ArtifactError(
            f"symlink {rel} in {root} points to the absolute path {target}; make it relative "
            "to a file inside the build dir, replace it with the file, or add it to `exclude`",
            path=path,
        )
    lexical = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    real = os.path.realpath(path)
    if lexical == ".." or lexical.startswith("../") or not _inside(real, root):
        raise ArtifactError(
            f"symlink {rel} in {root} points to {target}, outside the build dir; replace it "
            "with the file it points to, or add it to `exclude`",
            path=path,
        )
    return target


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _check_utf8(root: str, rel: str, text: str) -> None:
    """Refuse names (and symlink targets) that are not UTF-8: tar's PAX records need it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
        what = "the name of" if text == rel else "the symlink target of"
        raise ArtifactError(
            f"{what} {shown} in {root} is not valid UTF-8; rename it or add it to `exclude`",
            path=root + "/" + shown,
        ) from None
