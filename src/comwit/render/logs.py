"""Render an app's log lines: one line of text each; as JSON, one document for a log read
to its end, or one object per line (JSON Lines, as the official CLI's `--json` prints them)
for a followed log, which has no end."""

from __future__ import annotations

import json
from collections.abc import Sequence

from comwit.api.models import LogLine
from comwit.escape import one_line


def log_text(line: LogLine) -> str:
    """`TIMESTAMP LEVEL BUILD MESSAGE`, then `route=`/`request_id=` when the line has them."""
    parts = [line.timestamp, f"{line.level:<5}", line.build_id or "-", line.message]
    parts += [f"{k}={v}" for k, v in (("route", line.route), ("request_id", line.request_id)) if v]
    if line.error_class:
        parts.append(f"error={line.error_class}")
    # Text from the API reaches a terminal: control characters are shown, never obeyed.
    rows = ["  ".join(one_line(part) for part in parts)]
    rows += [f"    {one_line(row)}" for row in (line.error_stack or "").splitlines()]
    return "\n".join(_inert(row) for row in rows)


def _inert(row: str) -> str:
    """A row the CI runner would read as a workflow command (`::…` after spaces: an app's
    error can say anything, e.g. `::stop-commands::`) shows its first `:` as GitHub escapes
    one, `%3A`, so it is shown in the job's log, never obeyed."""
    text = row.lstrip()
    return row if not text.startswith("::") else row[: len(row) - len(text)] + "%3A" + text[1:]


def log_json(line: LogLine) -> str:
    """The line as the API gave it (fields it left out stay out), keys sorted."""
    return json.dumps(line.model_dump(exclude_none=True), sort_keys=True, ensure_ascii=False)


def logs_json(project: str, app: str, lines: Sequence[LogLine]) -> str:
    """One document: `{"project", "app", "logs": [...]}`, the lines oldest first."""
    document = {
        "project": project,
        "app": app,
        "logs": [line.model_dump(exclude_none=True) for line in lines],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
