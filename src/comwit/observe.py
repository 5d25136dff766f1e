"""Observe: read what the API has for the apps the manifest names. Read-only.

One request lists the project's apps; then, per app that exists, its builds, hostnames and
env vars are read concurrently (at most 3 requests per app, a bounded number in flight).
An app already found in that list is read again with its 3 requests alone (`observe_app`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from typing import TypeVar

from comwit.api.client import DEFAULT_CONNECTIONS, ComwitClient
from comwit.api.models import App, Build, Domain, EnvVar
from comwit.errors import ComwitError, PlanError
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.plan import LEDGER_ENV_KEY
from comwit.plan.state import ObservedApp, ObservedBuild, ObservedHost, ObservedState
from comwit.store.ledger import LedgerReader

# Reads in flight at once: as many as a client has connections (`--concurrency`).
DEFAULT_CONCURRENCY = DEFAULT_CONNECTIONS
T = TypeVar("T")
_Reads = tuple[
    asyncio.Task[tuple[Build, ...]],
    asyncio.Task[tuple[Domain, ...]],
    asyncio.Task[tuple[EnvVar, ...]],
]


@frozen
class Observation:
    state: ObservedState
    warnings: tuple[str, ...] = ()


async def observe(
    client: ComwitClient,
    project: str,
    names: Sequence[str],
    ledgers: LedgerReader,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Observation:
    """The live state of the apps called `names` in `project`, with their ledgers."""
    listed = await client.list_apps(project)
    wanted = set(names)
    apps, warnings = await _read_apps(
        client, project, _live_apps(project, listed, wanted), ledgers, concurrency
    )
    unmanaged = tuple(sorted({app.name for app in listed} - wanted))
    return Observation(ObservedState(project, apps, unmanaged), warnings)


async def observe_app(
    client: ComwitClient, project: str, app: App, ledgers: LedgerReader
) -> ObservedApp:
    """The live state of `app`, as the project's app list has it now (`find_app`), with its
    ledger: its builds, hostnames and env vars, and no second listing of every app."""
    apps, _ = await _read_apps(client, project, {app.name: app}, ledgers, concurrency=3)
    return apps[app.name]


async def _read_apps(
    client: ComwitClient,
    project: str,
    live: dict[str, App],
    ledgers: LedgerReader,
    concurrency: int,
) -> tuple[dict[str, ObservedApp], tuple[str, ...]]:
    """Each live app's builds, hostnames and env vars, read concurrently, and its ledger;
    the warnings of the ledgers that could not be read."""
    limit = asyncio.Semaphore(concurrency)
    try:
        # One flat group: a failed read cancels every other read before the client closes.
        async with asyncio.TaskGroup() as group:
            reads = {
                name: _read_app(group, limit, client, project, app.app_id)
                for name, app in live.items()
            }
    except* ComwitError as failed:
        first = failed.exceptions[0]  # as itself, not in a group: the CLI maps it to exit 1
        raise first from first.__cause__
    apps: dict[str, ObservedApp] = {}
    warnings: list[str] = []
    for name, (builds, domains, env) in reads.items():
        app, ledger_value = _observed_app(
            live[name], builds.result(), domains.result(), env.result()
        )
        ledger, warning = ledgers.read(app, ledger_value)
        apps[name] = replace(app, ledger=ledger)
        if warning:
            warnings.append(warning)
    return apps, tuple(warnings)


def _live_apps(project: str, listed: Sequence[App], wanted: set[str]) -> dict[str, App]:
    """The live app of each wanted name, sorted by name; PlanError for the first name (in
    name order, whatever order the API lists them in) that has two."""
    live: dict[str, App] = {}
    for app in sorted(listed, key=_name):
        if app.name not in wanted:
            continue
        if app.name in live:
            twins = [each.app_id for each in listed if each.name == app.name]
            raise PlanError(
                f"project {project} has {len(twins)} apps named {quoted(app.name)} "
                f"({', '.join(twins)}); comwit cannot tell which one to manage: delete or "
                "rename the others"
            )
        live[app.name] = app
    return live


def _name(app: App) -> str:
    return app.name


def _read_app(
    group: asyncio.TaskGroup,
    limit: asyncio.Semaphore,
    client: ComwitClient,
    project: str,
    app_id: str,
) -> _Reads:
    return (
        group.create_task(_bounded(limit, client.list_builds(project, app_id))),
        group.create_task(_bounded(limit, client.list_domains(project, app_id))),
        group.create_task(_bounded(limit, client.list_env(project, app_id))),
    )


def _observed_app(
    app: App, builds: Sequence[Build], domains: Sequence[Domain], env: Sequence[EnvVar]
) -> tuple[ObservedApp, str | None]:
    values = {var.key: var.value for var in env}
    ledger_value = values.pop(LEDGER_ENV_KEY, None)
    observed = ObservedApp(
        name=app.name,
        app_id=app.app_id,
        active_build_id=app.active_build_id,
        builds=tuple(
            ObservedBuild(b.build_id, b.created_at, b.artifact_size, b.deployed_at_ms)
            for b in builds
        ),
        hosts=tuple(ObservedHost(d.domain, d.status) for d in sorted(domains, key=_domain_name)),
        env=dict(sorted(values.items())),
        secret_env=frozenset(var.key for var in env if var.secret),
        default_url=app.default_url,
    )
    return observed, ledger_value


async def _bounded(limit: asyncio.Semaphore, call: Awaitable[T]) -> T:
    async with limit:
        return await call


def _domain_name(domain: Domain) -> str:
    return domain.domain
