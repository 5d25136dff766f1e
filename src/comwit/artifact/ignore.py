"""Build dir, before digesting: which paths are left out, and which names look like secrets.

Patterns use gitignore semantics: the app's `exclude` list first, then `.comwitignore`
at the build dir's root, so a `!pattern` in `.comwitignore` can bring back what
`exclude` left out. The `.comwitignore` file itself is always left out, and so are the
repositories of git, Mercurial and Subversion (`.git`, `.hg`, `.svn` at any depth) unless
a negated pattern (`!.git/`) brings them back.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from comwit.errors import ArtifactError
from comwit.escape import cut
from comwit.frozen import frozen
from comwit.store.regular import NotRegularFile, read_bounded

if TYPE_CHECKING:  # imported when there are patterns: a tree confirmed unchanged needs none
    import pathspec

IGNORE_FILE = ".comwitignore"
MAX_IGNORE_BYTES = 1 << 20  # tens of thousands of patterns; a larger file is not read

# Version-control data that is never an app's content: left out unless a `!` pattern says so.
VCS_NAMES = frozenset({".git", ".hg", ".svn"})
# Other version-control directories: uploaded, with a warning naming the `exclude` entry.
_OTHER_VCS = frozenset({"CVS", ".bzr", "_darcs", ".pijul", ".jj", ".sl", ".fslckout"})
# Names that usually hold credentials; each is also the `exclude` entry that leaves them out.
_SECRET_NAMES = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "*.p12", "*.pfx", ".netrc")
# One regex for all of them, with a group per glob: every file name is checked.
_SECRET_RE = re.compile("|".join(f"({fnmatch.translate(g)})" for g in _SECRET_NAMES))
# What a name must start or end with to match any of them (the globs' text before their
# first "*", or after the last one when they start with it): tested before the regex, which
# costs about ten times as much, so the names that cannot match are spared it.
_SECRET_HEADS = tuple(g.split("*")[0] for g in _SECRET_NAMES if not g.startswith("*"))
_SECRET_TAILS = tuple(g.split("*")[-1] for g in _SECRET_NAMES if g.startswith("*"))


@frozen
class Excluder:
    """Decides, path by path, what stays out of the digest and the archive."""

    spec: pathspec.GitIgnoreSpec | None
    rules: bytes = b""  # `rules_key` of the patterns it was made from

    def excludes(self, rel: str, name: str, *, is_dir: bool) -> bool:
        """True when `rel` (POSIX, relative to the build dir; `name` its last part) is left out."""
        if rel == IGNORE_FILE:
            return True
        vcs = name in VCS_NAMES
        if self.spec is None:
            return vcs
        path = rel + "/" if is_dir else rel
        if not vcs:
            return self.spec.match_file(path)
        # Left out unless the last pattern that matches it is a negated one.
        return self.spec.check_file(path).include is not False

    def leaves_out(self, rel: PurePosixPath, *, is_dir: bool = False) -> bool:
        """True when `rel` (relative to the build dir) is not in the tree: it, or a directory
        it is in, is excluded (the walk never looks inside an excluded directory)."""
        parts = rel.parts
        for i in range(1, len(parts)):
            if self.excludes("/".join(parts[:i]), parts[i - 1], is_dir=True):
                return True
        return bool(parts) and self.excludes(rel.as_posix(), parts[-1], is_dir=is_dir)


def load_excluder(build_dir: Path, exclude: Sequence[str]) -> Excluder:
    """The app's `exclude` patterns plus the build dir's `.comwitignore`, if there is one."""
    ignore_file = build_dir / IGNORE_FILE
    text = read_ignore_file(build_dir)
    lines = [(p, "exclude") for p in exclude]
    lines += [(line, str(ignore_file)) for line in text.splitlines()]
    patterns = [(p, origin) for p, origin in lines if p.strip() and not p.startswith("#")]
    rules = rules_key(exclude, text)
    if not patterns:
        return Excluder(spec=None, rules=rules)
    import pathspec

    for pattern, origin in patterns:
        _check_pattern(pattern, origin)
    return Excluder(spec=pathspec.GitIgnoreSpec.from_lines([p for p, _ in patterns]), rules=rules)


def read_ignore_file(build_dir: Path) -> str:
    """The text of the build dir's `.comwitignore` ("" when there is none)."""
    ignore_file = build_dir / IGNORE_FILE
    _refuse_outside(build_dir, ignore_file)
    try:
        return read_bounded(ignore_file, MAX_IGNORE_BYTES).decode("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise ArtifactError(
            f"cannot read {ignore_file}: {_reason(exc)}; fix or remove it",
            path=str(ignore_file),
        ) from exc


def _refuse_outside(build_dir: Path, ignore_file: Path) -> None:
    """A `.comwitignore` that is a symlink leaving the build dir is an error: its patterns
    (and a line of it quoted in an error) would come from a file that is not the app's."""
    try:
        target = str(ignore_file.readlink())
    except OSError:  # not a symlink, or no file at all: read (or missed) as it is
        return
    if not Path(os.path.realpath(ignore_file)).is_relative_to(os.path.realpath(build_dir)):
        raise ArtifactError(
            f"{ignore_file} is a symlink to {cut(target)}, outside the build dir; "
            "make it a file in the build dir or remove it",
            path=str(ignore_file),
        )


def rules_key(exclude: Sequence[str], ignore_text: str) -> bytes:
    """What every exclude verdict depends on besides the path: the app's patterns and the
    `.comwitignore` text. A cached verdict is reused only under the same key."""
    return hashlib.sha256(json.dumps([list(exclude), ignore_text]).encode()).digest()


def secret_pattern(name: str) -> str | None:
    """The `exclude` entry that would leave out a file named `name`, if it looks like a secret."""
    if not (name.startswith(_SECRET_HEADS) or name.endswith(_SECRET_TAILS)):
        return None
    match = _SECRET_RE.match(name)
    return _SECRET_NAMES[match.lastindex - 1] if match and match.lastindex else None


def vcs_pattern(name: str) -> str | None:
    """The `exclude` entry that would leave out a directory `name` of another VCS than the
    three left out anyway."""
    return f"{name}/" if name in _OTHER_VCS else None


def _check_pattern(pattern: str, origin: str) -> None:
    import pathspec

    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises re.error, ValueError or its own errors
        raise ArtifactError(
            f"{origin}: invalid exclude pattern {pattern!r} ({exc}); fix the pattern",
            path=None if origin == "exclude" else origin,
        ) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotRegularFile):
        return exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, UnicodeDecodeError):
        return "it is not valid UTF-8"
    return f"it is {exc}" if isinstance(exc, ValueError) else str(exc)  # too large
