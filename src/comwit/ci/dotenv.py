"""Step outputs as a dotenv report, for GitLab CI's `artifacts:reports:dotenv` (the file named
by `COMWIT_DOTENV`): `has-changes` is `COMWIT_HAS_CHANGES=true` in the jobs after this one.

GitLab refuses the whole report (and the job's artifacts upload fails) unless every line is
`KEY=VALUE` on one line, the file is under 5 KiB and it holds at most 20 variables (the
smallest plan's limit; every line counts, repeated keys too). So comwit rewrites the file
with each of its keys once, keeps other lines as they are, and leaves out, by name, what
would break those limits. The file is replaced whole (a job's own lines are never lost to a
write that fails half-way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from comwit.secret import redact
from comwit.store.files import write_atomically
from comwit.store.regular import refuse_special

MAX_BYTES = 5 * 1024  # the file must be smaller than this
MAX_VARIABLES = 20
PREFIX = "COMWIT_"
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]")
_NOT_FOR_DOTENV = ("matrix",)  # GitHub's job matrix: GitLab's parallel:matrix is static


def dotenv_name(output: str) -> str:
    """`has-changes` -> `COMWIT_HAS_CHANGES` (a dotenv key is ASCII letters, digits and _)."""
    return PREFIX + _NOT_A_NAME.sub("_", output).upper()


def write_dotenv(path: Path, values: Mapping[str, str]) -> list[str]:
    """Put `values` in the dotenv file at `path`, replacing comwit's earlier lines there.
    Returns the keys left out (a line break in the value, or the file's limits)."""
    refuse_special(path)  # a FIFO would wait for a writer, then for a reader
    ours = {
        dotenv_name(name): redact(value)
        for name, value in values.items()
        if name not in _NOT_FOR_DOTENV
    }
    kept = [line for line in _lines(path) if _key(line) not in ours]
    size = sum(len(_bytes(line)) + 1 for line in kept)
    left_out = []
    for key, value in ours.items():
        line = f"{key}={value.strip()}"
        cost = len(_bytes(line)) + 1
        if _breaks(line) or len(kept) >= MAX_VARIABLES or size + cost >= MAX_BYTES:
            left_out.append(key)
            continue
        kept.append(line)
        size += cost
    write_atomically(path, b"".join(_bytes(line) + b"\n" for line in kept))
    return left_out


def _breaks(line: str) -> bool:
    """Whether `line` would be read back as more than one (`_lines` splits where Python
    does: \\n, \\r, \\v, \\f, U+2028 and the like; a stripped value ends in none of them)."""
    return len(line.splitlines()) > 1


def _bytes(line: str) -> bytes:
    """UTF-8; a file name that is not (`-o $'\\xff.json'`) keeps its own bytes, as the
    shell gave them, so the next job finds that file."""
    return line.encode("utf-8", "surrogateescape")


def _lines(path: Path) -> list[str]:
    """The file's lines but blank ones (GitLab refuses a line without `=`), bytes that are
    not UTF-8 kept as they are (written back by `_bytes`)."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def _key(line: str) -> str:
    return line.split("=", 1)[0].strip()
