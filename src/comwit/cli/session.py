"""What plan-like commands share: load the manifest, pick the project, connect, make a plan."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from comwit.api.connect import Connection, open_client
from comwit.api.credentials import LOCAL, load_default_project
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.manifest import LoadedManifest, load_manifest
from comwit.observe import DEFAULT_CONCURRENCY, Observation, observe
from comwit.plan.diff import Policy
from comwit.planner import Planned, PlanRequest, make_plan, open_ledger_store


@dataclass(frozen=True)
class Target:
    """The manifest and project a command works on."""

    loaded: LoadedManifest
    project: str

    @property
    def emulator_dir(self) -> Path:
        return self.loaded.root / ".comwit" / "emulator"


def load_target(
    manifest: Path, env: str | None, project: str | None, environ: Mapping[str, str] = os.environ
) -> Target:
    loaded = load_manifest(manifest, env=env)
    chosen = (
        project or environ.get("COMWIT_PROJECT") or loaded.project or load_default_project(environ)
    )
    if not chosen:
        raise ComwitError(
            "no project: set `project` in the manifest, pass --project, or set COMWIT_PROJECT"
        )
    return Target(loaded, chosen)


@asynccontextmanager
async def connect(
    target: Target, api_url: str | None, console: Console, environ: Mapping[str, str] = os.environ
) -> AsyncIterator[Connection]:
    """An open API connection; against the local emulator, the first line says so."""
    async with open_client(
        api_url, environ=environ, local_data_dir=target.emulator_dir, project=target.project
    ) as connection:
        if connection.notice:
            console.notice(connection.notice)
        yield connection


def require_app(target: Target, app: str) -> None:
    """APP arguments name an app of the manifest."""
    if app not in target.loaded.apps:
        names = ", ".join(target.loaded.apps)
        raise ComwitError(f"app {app!r} is not in the manifest (apps: {names})")


async def observe_one(
    target: Target, connection: Connection, app: str, console: Console
) -> Observation:
    """One app's live state and ledger; an app not created yet is an error."""
    store = open_ledger_store(target.loaded.state, connection.client, target.project)
    observation = await observe(connection.client, target.project, [app], store)
    for warning in observation.warnings:
        console.warn(warning)
    if app not in observation.state.apps:
        raise ComwitError(
            f"app {app!r} does not exist in project {target.project} yet; `comwit apply` creates it"
        )
    return observation


def api_identity(connection: Connection) -> str:
    """The API a saved plan is for: its URL, or `local` for the embedded emulator (whose
    port changes from run to run)."""
    return LOCAL if connection.local else connection.base_url


def plan_request(
    target: Target,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    allow_detach: list[str] | None = None,
    allow_delete_env: list[str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> PlanRequest:
    return PlanRequest(
        project=target.project,
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        policy=Policy(tuple(allow_detach or ()), tuple(allow_delete_env or ())),
        concurrency=concurrency,
    )


async def plan_target(
    target: Target,
    connection: Connection,
    request: PlanRequest,
    console: Console,
    environ: Mapping[str, str] = os.environ,
) -> Planned:
    """Make the plan and show its warnings (secret-looking files, unreadable ledgers)."""
    planned = await make_plan(target.loaded, connection.client, request, environ=environ)
    for warning in planned.warnings:
        console.warn(warning)
    return planned
