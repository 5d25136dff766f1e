"""Result files (`apply PLANFILE --result FILE`): what one shard (or one job) did, per app,
for `comwit report` to merge. Nothing secret goes in: the plan as saved, and the outcomes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from comwit.apply.result import ApplyResult, Outcome
from comwit.errors import PlanError
from comwit.plan.actions import Plan
from comwit.store.files import (
    JsonKind,
    first_problem,
    read_document,
    require_format,
    write_json,
)
from comwit.store.saved import without_derived

RESULT_FILE = JsonKind(
    "comwit-result", "result file", "comwit apply PLANFILE --result", 64 * 1024 * 1024
)


class AppResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    seconds: float | None = None  # from the shard's start to the app's last step


class ShardResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["comwit-result"] = "comwit-result"
    format_version: Literal[1] = 1
    plan_id: str  # the same for every shard of one saved plan
    manifest: str
    shard: str | None  # "2/4"; None: the whole plan in one job
    shards: tuple[tuple[str, ...], ...] = ()  # every shard's apps
    started: str
    seconds: float
    exit_code: int
    apps: tuple[AppResult, ...]
    hints: tuple[str, ...] = ()
    plan: Plan  # the whole saved plan: the report's comment shows it


def plan_id(salt: str) -> str:
    """Names a saved plan without giving its salt away."""
    return hashlib.sha256(f"comwit-plan:{salt}".encode()).hexdigest()[:16]


def outcomes_of(result: ShardResult) -> ApplyResult:
    return ApplyResult(tuple(app.outcome for app in result.apps), hints=result.hints)


def write_result(path: Path, result: ShardResult) -> None:
    write_json(path, result.model_dump(mode="json"), what="result", ensure_ascii=True)


def read_result(path: Path) -> ShardResult:
    """A result file; PlanError names the file and what is wrong with it."""
    document = read_document(path, RESULT_FILE)
    require_format(
        path, document, RESULT_FILE, again="run `comwit report` with the comwit that wrote it"
    )
    try:
        return ShardResult.model_validate(without_derived(document))
    except ValidationError as exc:
        raise PlanError(f"{path}: {first_problem(exc)}") from None
