"""GitHub Actions workflow commands: `::error file=…,line=…,col=…::…` annotations.

The runner reads commands from stdout and stderr alike; comwit writes them to stderr so
that `--format json` keeps stdout to one document. Data escapes `%`, CR and LF (so no value
can start a command of its own); properties also escape `:` and `,`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from comwit.errors import Problem
from comwit.secret import redact

Level = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> str:
    """One workflow command line, secrets scrubbed before escaping."""
    props = ",".join(f"{key}={escape_property(redact(value))}" for key, value in properties)
    return f"::{name}{' ' + props if props else ''}::{escape_data(redact(message))}"


def annotation(problem: Problem, level: Level, workspace: Path | None = None) -> str:
    """The annotation that shows `problem` on its manifest line in the pull request's diff."""
    properties = [("file", repository_path(problem.file, workspace))]
    if problem.line is not None:
        properties.append(("line", str(problem.line)))
        if problem.column is not None:
            properties.append(("col", str(problem.column)))
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return command(level, message, properties)


def repository_path(file: str, workspace: Path | None, cwd: Path | None = None) -> str:
    """`file` (as messages name it, relative to the working directory) relative to the
    checkout, which is what annotations need when comwit runs in a subdirectory."""
    if workspace is None:
        return file
    path = Path(file)
    absolute = path if path.is_absolute() else (cwd or Path.cwd()) / path
    try:
        return absolute.resolve().relative_to(workspace.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return file
