"""Saved plans: `plan --out FILE` writes the plan plus what `apply FILE` checks first.

Nothing secret goes in: no token, no credentials in the API URL, no value that came from
${VAR} and no live env value, only their scrypt hashes keyed by the plan's random salt, so
that guessing a value from the file costs ~50 ms a guess.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from comwit import __version__
from comwit.errors import PlanError
from comwit.escape import quoted
from comwit.plan.actions import FORMAT_VERSION, Plan
from comwit.plan.ledger import encode
from comwit.plan.shards import MAX_SHARDS
from comwit.plan.state import ObservedApp
from comwit.planner import Planned
from comwit.store.files import (
    JsonKind,
    first_problem,
    read_document,
    require_format,
    write_json,
)

# A plan of 1,000 apps is about 3 MB.
SAVED_PLAN = JsonKind(
    "comwit-plan", "saved plan", "comwit plan --out", 32 * 1024 * 1024, FORMAT_VERSION
)


class ManifestRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    digest: str
    environment: str | None = None


class SavedPolicy(BaseModel):
    """The --allow-detach / --allow-delete-env globs the plan was made with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_detach: tuple[str, ...] = ()
    allow_delete_env: tuple[str, ...] = ()


class RecordedApp(BaseModel):
    """What the plan read of an existing app beyond its preconditions, that its choices
    rest on: the builds it has, the keys the API marks secret, and its ledger (encoded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    builds: tuple[str, ...] = ()
    secret_env: tuple[str, ...] = ()
    ledger: str = ""


class SavedPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["comwit-plan"] = "comwit-plan"
    format_version: Literal[1] = 1
    comwit_version: str = __version__
    api_url: str
    manifest: ManifestRef
    salt: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    build_dirs: dict[str, str]  # app -> tree digest when planned
    interpolated: dict[str, dict[str, str]]  # app -> key -> hash of the ${VAR} value
    live_env: dict[str, str]  # app -> hash of its live env values when planned
    policy: SavedPolicy
    observed: dict[str, RecordedApp]  # app -> what else was read, for apps that existed
    plan: Plan
    shards: tuple[tuple[str, ...], ...] = ()  # `plan --shards`: the apps of each shard
    shard_count: int = 0  # the N of `plan --shards N` (more than len(shards): some are empty)


def saved_plan(
    planned: Planned,
    *,
    api_url: str,
    manifest: ManifestRef,
    salt: str,
    policy: SavedPolicy | None = None,
) -> SavedPlan:
    live_env = {
        name: fingerprint(env_text(app.env), salt)
        for name, app in sorted(planned.observed.apps.items())
        if app.env
    }
    return SavedPlan(
        api_url=public_url(api_url),
        manifest=manifest,
        salt=salt,
        build_dirs={app: tree.digest for app, tree in sorted(planned.trees.items())},
        interpolated=interpolated_hashes(planned.env, salt),
        live_env=live_env,
        policy=policy or SavedPolicy(),
        observed={name: record_app(app) for name, app in sorted(planned.observed.apps.items())},
        plan=planned.plan,
    )


def record_app(app: ObservedApp) -> RecordedApp:
    """What a saved plan records of an app besides its preconditions (compared at apply)."""
    return RecordedApp(
        builds=tuple(sorted(build.build_id for build in app.builds)),
        secret_env=tuple(sorted(app.secret_env)),
        # Without the lease: no plan rests on it, a run holding or renewing it changes it,
        # and its token is for that run alone.
        ledger=encode(app.ledger.with_lease(None)),
    )


_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # ~50 ms and 16 MiB a hash


def fingerprint(value: str, salt: str) -> str:
    """What stands for a secret value in a saved plan: slow to guess, keyed by the salt."""
    return hashlib.scrypt(value.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def env_text(env: Mapping[str, str]) -> str:
    """An app's env values as one canonical text, to fingerprint them together."""
    return json.dumps(sorted(env.items()), separators=(",", ":"))


def interpolated_hashes(
    env: Mapping[str, Mapping[str, Any]], salt: str
) -> dict[str, dict[str, str]]:
    """For every value that came from ${VAR}: its fingerprint."""
    hashes = {
        app: {
            key: fingerprint(value.value, salt)
            for key, value in sorted(values.items())
            if value.sensitive
        }
        for app, values in sorted(env.items())
    }
    return {app: keys for app, keys in hashes.items() if keys}


def write_plan(path: Path, saved: SavedPlan) -> None:
    write_json(path, saved.model_dump(mode="json"), what="plan", ensure_ascii=False)


def read_plan(path: Path) -> SavedPlan:
    """A saved plan; PlanError names the file and what is wrong with it."""
    document = read_document(path, SAVED_PLAN)
    require_format(path, document, SAVED_PLAN, again="plan again")
    try:
        saved = SavedPlan.model_validate(without_derived(document))
    except ValidationError as exc:
        problem = first_problem(exc)
        raise PlanError(f"{path}: {problem}; plan again with `comwit plan --out`") from None
    if wrong := _inconsistency(saved):
        raise PlanError(f"{path}: {wrong}; plan again with `comwit plan --out`")
    return saved


def _inconsistency(saved: SavedPlan) -> str | None:
    """What no `comwit plan --out` writes, though each field is well formed: an app listed
    twice (apply would run it twice at once), shards that leave out or repeat a changed app
    (a matrix job would skip it or apply it twice), a NUL in the manifest's path."""
    if "\0" in saved.manifest.path:
        return "manifest.path: holds a NUL character"
    if twice := _repeated(app.app for app in saved.plan.apps):
        return f"plan.apps: app {quoted(twice)} is listed twice"
    if not (saved.shards or saved.shard_count):
        return None
    count = saved.shard_count or len(saved.shards)  # 0: as many as there are shards
    if not 1 <= count <= MAX_SHARDS or len(saved.shards) > MAX_SHARDS:
        return f"shard_count: {saved.shard_count}, where a plan makes 1 to {MAX_SHARDS} shards"
    if count < len(saved.shards):
        return f"shard_count: {count}, fewer than the {len(saved.shards)} shards listed"
    placed = [app for shard in saved.shards for app in shard]
    if twice := _repeated(placed):
        return f"shards: app {quoted(twice)} is in two shards"
    changed = {app.app for app in saved.plan.apps if app.changed and not app.error}
    if stray := sorted(set(placed) - changed):
        return f"shards: app {quoted(stray[0])} has no change in the plan"
    if left := sorted(changed - set(placed)):
        return f"shards: app {quoted(left[0])} has changes but is in no shard"
    return None


def _repeated(names: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def public_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to store and show."""
    if "://" not in url:
        return url  # `local`
    parts = urlsplit(url)  # already checked by comwit.api.credentials
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def without_derived(document: dict[str, Any]) -> dict[str, Any]:
    """The saved document without the fields the plan's models compute (ids, summary...)."""
    plan = document.get("plan")
    if not isinstance(plan, dict):
        return document
    plan = _drop(plan, ("has_changes", "has_errors", "summary"))
    apps = plan.get("apps")
    if isinstance(apps, list):
        plan["apps"] = [_app_without_derived(app) for app in apps]
    return {**document, "plan": plan}


def _app_without_derived(app: Any) -> Any:
    if not isinstance(app, dict):
        return app
    app = _drop(app, ("changed",))
    if isinstance(app.get("actions"), list):
        app["actions"] = [_drop(action, ("id", "destructive")) for action in app["actions"]]
    if isinstance(app.get("held"), list):
        app["held"] = [
            {**held, "action": _drop(held.get("action"), ("id", "destructive"))}
            if isinstance(held, dict)
            else held
            for held in app["held"]
        ]
    return app


def _drop(value: Any, keys: tuple[str, ...]) -> Any:
    return {k: v for k, v in value.items() if k not in keys} if isinstance(value, dict) else value
