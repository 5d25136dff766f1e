"""Files comwit writes (saved plans, caches, the local ledger, manifests): whole or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from comwit.errors import ComwitError, PlanError

if TYPE_CHECKING:
    from collections.abc import Callable


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same directory, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data.encode() if isinstance(data, str) else data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, *, hint: str = "") -> None:
    """Write a file the user asked for (a manifest) whole or not at all; one that cannot be
    written is a ComwitError naming it, why, and `hint` when there is something to do."""
    then = f"; {hint}" if hint else ""
    _write_or_raise(path, text, lambda why: ComwitError(f"cannot write {path} ({why}){then}"))


def write_json(path: Path, document: object, *, what: str, ensure_ascii: bool) -> None:
    """`document` as indented JSON with sorted keys and a final newline, whole or not at all;
    one that cannot be written is a PlanError naming `what` it is and where. Saved plans are
    UTF-8, result files escape what is not ASCII (`ensure_ascii`): each keeps its bytes."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    _write_or_raise(
        path, text + "\n", lambda why: PlanError(f"cannot write the {what} to {path}: {why}")
    )


def _write_or_raise(path: Path, data: str, error: Callable[[str], Exception]) -> None:
    """`write_atomically`; an OSError becomes `error(why)`, why being its strerror (its
    class's name when it has none)."""
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise error(exc.strerror or type(exc).__name__) from exc
