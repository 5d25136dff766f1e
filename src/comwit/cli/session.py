"""What plan-like commands share: load the manifest, pick the project, connect, make a plan."""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from comwit.api.connect import Connection, emulator_dir, open_client
from comwit.api.credentials import LOCAL
from comwit.cli.ci_options import annotate_problems
from comwit.cli.settings import Settings
from comwit.errors import ComwitError, ForbiddenError, ManifestError, NotFoundError
from comwit.escape import quoted
from comwit.frozen import frozen
from comwit.manifest import LoadedManifest, load_manifest
from comwit.manifest.checks import inherited_hosts
from comwit.manifest.load import display_name
from comwit.observe import DEFAULT_CONCURRENCY, Observation, observe
from comwit.plan.diff import Policy
from comwit.planner import Planned, PlanRequest, make_plan, open_ledger_store
from comwit.source import OrderGuard
from comwit.source import order_guard as make_order_guard
from comwit.store.ledger import LedgerStore


@frozen
class Target:
    """The manifest and project a command works on."""

    loaded: LoadedManifest
    project: str


def load_target(settings: Settings) -> Target:
    loaded = load_manifest(settings.manifest, env=settings.env)
    chosen = settings.chosen_project(loaded.project)
    if not chosen:
        raise ComwitError(
            f"no project: set `project` in {display_name(loaded.path)}, pass --project, "
            "or set COMWIT_PROJECT"
        )
    if settings.env:
        _warn_inherited_hosts(settings, loaded)
    return Target(loaded, chosen)


def _warn_inherited_hosts(settings: Settings, loaded: LoadedManifest) -> None:
    """An environment of another project that inherits the top level's hostnames: its
    attach would fail with a 409 while the other project holds them (validate says so too)."""
    try:
        top = load_manifest(settings.manifest)
    except ManifestError:  # the top level alone is not a whole manifest: nothing to compare
        return
    warnings = inherited_hosts(top, loaded)
    for warning in warnings:
        settings.console.warn(str(warning))
    annotate_problems(settings, warnings, "warning")


@asynccontextmanager
async def connect(settings: Settings, target: Target) -> AsyncIterator[Connection]:
    """An open API connection; against the local emulator, the first line says so.

    It keeps as many connections as --concurrency reads at once; an apply's executor adds
    what its parallel apps need (`Executor.apply`)."""
    async with connect_project(
        settings,
        target.project,
        emulator_dir(target.loaded.root),
        fix="pass --project, set COMWIT_PROJECT or fix `project` in the manifest",
    ) as connection:
        yield connection


@asynccontextmanager
async def connect_project(
    settings: Settings, project: str, local_data_dir: Path, *, fix: str
) -> AsyncIterator[Connection]:
    """`connect` for a project without a manifest (`import`); a project the token cannot
    see is an error naming those it can, and `fix`, what to do."""
    async with open_client(
        settings.api_url,
        environ=settings.environ,
        local_data_dir=local_data_dir,
        project=project,
        timeout=settings.timeout,
        transport=settings.transport,
        connections=concurrency(settings),
        sleep=settings.sleep,
    ) as connection:
        if connection.notice:
            settings.console.notice(connection.notice)
        try:
            yield connection
        except (ForbiddenError, NotFoundError) as exc:
            hint = await _wrong_project(connection, project, exc, fix)
            if hint is None:
                raise
            raise ComwitError(hint) from exc


async def _wrong_project(
    connection: Connection, project: str, exc: ForbiddenError | NotFoundError, fix: str
) -> str | None:
    """When the project's own app list is refused: is it a project the token cannot see?
    Then say which ones it can (when the API lists them for it); else None."""
    from comwit.api.projects import visible_projects

    if not exc.path.endswith("/apps") or exc.path.count("/") != 4:  # /v1/projects/P/apps
        return None
    listing = await visible_projects(connection.client)
    if listing.has(project) is not False or listing.projects is None:
        return None
    seen = [p.project_id if p.name in (p.project_id, "") else f"{p.project_id} ({p.name})"
            for p in listing.projects]  # fmt: skip
    if not seen:
        return f"project {quoted(project)} is not one this token can see, and it sees none; {fix}"
    close = difflib.get_close_matches(project, [p.project_id for p in listing.projects], n=1)
    meant = f"; did you mean {quoted(close[0])}?" if close else ""
    return (
        f"project {quoted(project)} is not one this token can see ({exc.status}); it can see: "
        f"{', '.join(seen)}{meant} ({fix})"
    )


def ledger_store(target: Target, connection: Connection) -> LedgerStore:
    """The ledger backend the manifest's [state] names, for the target's project. A command
    opens it once (the local ledger's file is read then) and passes it to each step."""
    return open_ledger_store(target.loaded.state, connection.client, target.project)


def not_created(target: Target, app: str) -> ComwitError:
    """APP of the manifest, which the project has no app of yet."""
    return ComwitError(
        f"app {quoted(app)} does not exist in project {target.project} yet; "
        "`comwit apply` creates it"
    )


def require_app(target: Target, app: str) -> None:
    """APP arguments name an app of the manifest."""
    if app not in target.loaded.apps:
        names = ", ".join(target.loaded.apps)
        where = display_name(target.loaded.path)
        raise ComwitError(f"app {quoted(app)} is not in {where} (apps: {names})")


@frozen
class OneApp:
    """One app of the target, read through an open connection: what `builds`, `rollback`
    and `unlock` start from."""

    connection: Connection
    store: LedgerStore  # the command's one (`ledger_store`): the app's ledger was read from it
    observation: Observation


@asynccontextmanager
async def observe_one(
    settings: Settings, target: Target, app: str, *, created: bool = True
) -> AsyncIterator[OneApp]:
    """Connect, then read one app's live state and ledger, its warnings shown; an app not
    created yet is an error, unless `created` is False (the observation then lacks it)."""
    async with connect(settings, target) as connection:
        store = ledger_store(target, connection)
        observation = await observe(connection.client, target.project, [app], store)
        for warning in observation.warnings:
            settings.console.warn(warning)
        if created and app not in observation.state.apps:
            raise not_created(target, app)
        yield OneApp(connection, store, observation)


def concurrency(settings: Settings) -> int:
    """API requests in flight at once: --concurrency, or the default."""
    return settings.concurrency or DEFAULT_CONCURRENCY


def order_guard(settings: Settings, target: Target, allow_older: bool) -> OrderGuard:
    """Never older over newer, for the commit of the manifest's checkout (or the CI's)."""
    return make_order_guard(target.loaded.root, settings.environ, allow_older=allow_older)


def api_identity(connection: Connection) -> str:
    """The API a saved plan is for: its URL, or `local` for the embedded emulator (whose
    port changes from run to run)."""
    return LOCAL if connection.local else connection.base_url


def plan_request(
    settings: Settings,
    target: Target,
    *,
    allow_detach: list[str] | None = None,
    allow_delete_env: list[str] | None = None,
    allow_older: bool = False,
) -> PlanRequest:
    return PlanRequest(
        project=target.project,
        include=settings.include,
        exclude=settings.exclude,
        policy=Policy(tuple(allow_detach or ()), tuple(allow_delete_env or ()), allow_older),
        concurrency=concurrency(settings),
    )


async def plan_target(
    settings: Settings,
    target: Target,
    connection: Connection,
    request: PlanRequest,
    store: LedgerStore,
    pack_into: Path | None = None,
    before_packing: Callable[[], Awaitable[bool]] | None = None,
) -> Planned:
    """Make the plan and show its warnings (secret-looking files, unreadable ledgers); the
    ledgers are read from `store`, the command's one (`ledger_store`).
    With `pack_into`, what the plan will upload is packed there on the way (see planner)."""
    planned = await make_plan(
        target.loaded,
        connection.client,
        request,
        environ=settings.environ,
        pack_into=pack_into,
        make_guard=lambda: order_guard(settings, target, request.policy.allow_older),
        store=store,
        before_packing=before_packing,
    )
    for warning in planned.warnings:
        settings.console.warn(warning)
    return planned
