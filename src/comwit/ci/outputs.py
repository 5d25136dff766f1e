"""Step outputs ($GITHUB_OUTPUT): what the plan would change and what apply did, for later
steps (`steps.<id>.outputs.has-changes`, `…urls`).

Plain values are written `name=value`; JSON values and anything with a line break use the
heredoc form `name<<DELIMITER`, with a delimiter that occurs in no value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path

from comwit.apply.result import ApplyResult
from comwit.plan.actions import Plan
from comwit.secret import redact
from comwit.store.regular import open_append

_COUNTS = (
    ("to-create", "create"),
    ("to-upload", "upload"),
    ("to-rollback", "roll_back"),
    ("to-attach", "attach"),
    ("to-finalize", "finalize"),
    ("to-detach", "detach"),
    ("to-set-env", "env_set"),
    ("to-delete-env", "env_delete"),
    ("held-back", "held"),
    ("unchanged", "unchanged"),
    ("errors", "errors"),
)
_JSON = ("urls", "failed-apps")


def plan_outputs(plan: Plan, plan_path: str | None = None) -> dict[str, str]:
    """`has-changes`, one count per kind of change, and the saved plan's path if any."""
    summary = plan.summary
    values = {"has-changes": "true" if plan.has_changes else "false"}
    values |= {name: str(getattr(summary, field)) for name, field in _COUNTS}
    if plan_path is not None:
        values["plan-path"] = plan_path
    return values


def apply_outputs(result: ApplyResult | None, urls: Mapping[str, str]) -> dict[str, str]:
    """`urls` (JSON: app -> live URL), `failed-apps` (JSON list) and the count per status."""
    outcomes = result.outcomes if result else ()
    failed = sorted(o.app for o in outcomes if o.status in ("failed", "skipped"))
    values = {
        "urls": json.dumps(dict(urls), sort_keys=True),
        "failed-apps": json.dumps(failed),
    }
    for status in ("done", "failed", "skipped", "unchanged"):
        values[status] = str(sum(1 for o in outcomes if o.status == status))
    return values


def format_outputs(values: Mapping[str, str]) -> str:
    """The lines to append to $GITHUB_OUTPUT."""
    lines = []
    for name, raw in values.items():
        value = redact(raw)
        if name in _JSON or "\n" in value or "\r" in value:
            delimiter = _delimiter(name, value)
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    with open_append(path) as file:
        # A file name that is not UTF-8 keeps its own bytes, so the next step finds the file.
        file.write(format_outputs(values).encode("utf-8", "surrogateescape"))


def _delimiter(name: str, value: str) -> str:
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
        if delimiter not in value and delimiter not in name:
            return delimiter
