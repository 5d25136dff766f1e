"""Saved plans: `plan --out FILE` writes the plan plus what `apply FILE` checks first.

Nothing secret goes in: no token, no value that came from ${VAR} (only a hash keyed by the
plan's salt), no credentials in the API URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from comwit import __version__
from comwit.errors import PlanError
from comwit.plan.actions import DERIVED_FIELDS, FORMAT_VERSION, Plan
from comwit.plan.diff import secret_hash
from comwit.plan.planner import Planned
from comwit.plan.trees import write_atomically

KIND = "comwit-plan"


class ManifestRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    digest: str
    environment: str | None = None


class SavedPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["comwit-plan"] = "comwit-plan"
    format_version: Literal[1] = 1
    comwit_version: str = __version__
    api_url: str
    manifest: ManifestRef
    build_dirs: dict[str, str]  # app -> tree digest when planned
    interpolated: dict[str, dict[str, str]]  # app -> key -> keyed hash of the ${VAR} value
    plan: Plan


def saved_plan(planned: Planned, *, api_url: str, manifest: ManifestRef) -> SavedPlan:
    salt = planned.plan.salt
    return SavedPlan(
        api_url=public_url(api_url),
        manifest=manifest,
        build_dirs={app: tree.digest for app, tree in sorted(planned.trees.items())},
        interpolated=interpolated_hashes(planned.env, salt),
        plan=planned.plan,
    )


def interpolated_hashes(
    env: Mapping[str, Mapping[str, Any]], salt: str
) -> dict[str, dict[str, str]]:
    """For every value that came from ${VAR}: its hash keyed by the plan's salt."""
    hashes = {
        app: {
            key: secret_hash(value.value, salt)
            for key, value in sorted(values.items())
            if value.sensitive
        }
        for app, values in sorted(env.items())
    }
    return {app: keys for app, keys in hashes.items() if keys}


def write_plan(path: Path, saved: SavedPlan) -> None:
    text = json.dumps(saved.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)
    try:
        write_atomically(path, text + "\n")
    except OSError as exc:
        raise PlanError(f"cannot write the plan to {path}: {exc.strerror}") from None


def read_plan(path: Path) -> SavedPlan:
    """A saved plan; PlanError names the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(
            f"{path}: no such plan file; make one with `comwit plan --out {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot be read ({exc})") from None
    except ValueError:
        raise PlanError(f"{path}: is not JSON; was it written by `comwit plan --out`?") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise PlanError(f'{path}: is not a comwit saved plan (no "kind": "{KIND}")')
    if document.get("format_version") != FORMAT_VERSION:
        raise PlanError(
            f"{path}: plan format {document.get('format_version')!r} is not supported by "
            f"comwit {__version__} (it reads format {FORMAT_VERSION}); plan again"
        )
    try:
        return SavedPlan.model_validate(_without_derived(document))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanError(
            f"{path}: {where}: {first['msg']}; plan again with `comwit plan --out`"
        ) from None


def public_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to store and show."""
    if "://" not in url:
        return url  # `local`
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _without_derived(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_derived(v) for k, v in value.items() if k not in DERIVED_FIELDS}
    if isinstance(value, list):
        return [_without_derived(item) for item in value]
    return value
