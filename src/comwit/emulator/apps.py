"""Apps and builds in the emulator: create, list, delete, deploy (record a build), roll back.

Each change is also logged as an event of the app (see `logs`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from comwit.api import assumed
from comwit.emulator import hostnames, logs, schemas
from comwit.emulator.problems import bad_request, conflict, not_found
from comwit.emulator.store import Principal, Store, new_id
from comwit.escape import quoted
from comwit.frozen import frozen


@frozen
class DeployOptions:
    """The deploy's query: hostnames to attach and runtime options (stored, never returned)."""

    hosts: tuple[str, ...] = ()
    env_ref: str | None = None
    max_concurrent_requests: int | None = None


def create_app(store: Store, who: Principal, project_id: str, name: str) -> schemas.AppCreated:
    """A new app; a name already used in the project answers 409 (the API is not idempotent)."""
    if not assumed.APP_NAME.fullmatch(name):
        raise bad_request(
            f"{quoted(name)} is not a valid app name: use lowercase letters, digits and -.",
            "invalid_app_name",
        )
    with store.transaction() as db:
        store.check_project(db, who, project_id)
        taken = db.execute(
            "SELECT app_id FROM apps WHERE project_id = ? AND name = ?", (project_id, name)
        ).fetchone()
        if taken is not None:
            raise conflict(f"Project {project_id} already has an app named {name}.", "app_exists")
        app = schemas.App(app_id=new_id("app"), name=name, active_build_id=None)
        db.execute("INSERT INTO apps VALUES (?, ?, ?, NULL)", (app.app_id, project_id, name))
        logs.record(db, store, app.app_id, f"app {name} created")
    return schemas.AppCreated(app=app)


def list_apps(store: Store, who: Principal, project_id: str) -> schemas.AppList:
    with store.transaction() as db:
        store.check_project(db, who, project_id)
        rows = db.execute(
            "SELECT app_id, name, active_build_id FROM apps WHERE project_id = ?"
            " ORDER BY name, app_id",
            (project_id,),
        ).fetchall()
    return schemas.AppList(apps=[schemas.App(**dict(r)) for r in rows])


def get_app(
    store: Store, who: Principal, project_id: str, app_id: str, envelope: str | None
) -> dict[str, Any]:
    """The app in `envelope` (`assumed.APP_ENVELOPE` unless the emulator plays it flat)."""
    with store.transaction() as db:
        app = store.find_app(db, who, project_id, app_id).model_dump()
    return app if envelope is None else {envelope: app}


def delete_app(
    store: Store, who: Principal, project_id: str, app_id: str
) -> schemas.AppDeleteReport:
    """Round one detaches the app's hostnames (incomplete); the next removes the rest."""
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        builds = [r["build_id"] for r in db.execute(_BUILD_IDS, (app_id,)).fetchall()]
        detached = db.execute("DELETE FROM domains WHERE app_id = ?", (app_id,)).rowcount
        if detached:
            logs.record(db, store, app_id, f"deleting the app: {detached} hostnames detached")
            return _report(app_id, domains=detached, present=len(builds))
        db.execute("DELETE FROM builds WHERE app_id = ?", (app_id,))
        variables = db.execute("DELETE FROM variables WHERE app_id = ?", (app_id,)).rowcount
        db.execute("DELETE FROM events WHERE app_id = ?", (app_id,))
        db.execute("DELETE FROM apps WHERE app_id = ?", (app_id,))
    for build_id in builds:
        store.artifact_path(build_id).unlink(missing_ok=True)
    return _report(app_id, complete=True, artifacts=len(builds), variables=variables)


def check_deploy(
    store: Store, who: Principal, project_id: str, app_id: str, hosts: tuple[str, ...]
) -> None:
    """Refuse a deploy before its upload is read: missing app, or a hostname held elsewhere."""
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        for host in hosts:
            hostnames.check_free(db, app_id, host)


def record_deploy(
    store: Store,
    who: Principal,
    project_id: str,
    app_id: str,
    *,
    staged: Path,
    options: DeployOptions,
    publish: bool,
) -> schemas.Deployment:
    """Keep the validated artifact as a new build, make it active and attach its hostnames."""
    build_id = new_id("build")
    created_at, now_ms = store.now()
    target = store.artifact_path(build_id)
    size = staged.stat().st_size
    staged.replace(target)
    try:
        with store.transaction() as db:
            store.find_app(db, who, project_id, app_id)
            for host in options.hosts:
                hostnames.attach_in(store, db, app_id, host, "external_records", publish=publish)
            db.execute(
                "INSERT INTO builds (build_id, app_id, created_at, artifact_size,"
                " deployed_at_ms, env_ref, max_concurrent_requests)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (build_id, app_id, created_at, size, now_ms, options.env_ref,
                 options.max_concurrent_requests),
            )  # fmt: skip
            logs.record(db, store, app_id, _uploaded(build_id, size, options), build_id=build_id)
            _activate(store, db, app_id, build_id)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return schemas.Deployment(
        app_id=app_id, build_id=build_id, hosts=list(options.hosts), uploaded=True
    )


def list_builds(store: Store, who: Principal, project_id: str, app_id: str) -> schemas.BuildList:
    """Newest first."""
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        rows = db.execute(
            "SELECT build_id, created_at, artifact_size, deployed_at_ms FROM builds"
            " WHERE app_id = ? ORDER BY seq DESC",
            (app_id,),
        ).fetchall()
    return schemas.BuildList(builds=[schemas.Build(**dict(r)) for r in rows])


def rollback(
    store: Store,
    who: Principal,
    project_id: str,
    app_id: str,
    body: dict[str, Any],
    *,
    field: str = assumed.ROLLBACK_BODY_FIELD,
) -> schemas.Rollback:
    """Make an existing build live; `field` names the body's build id."""
    build_id = body.get(field)
    if not isinstance(build_id, str) or not build_id:
        raise bad_request(f"The body needs a string field {quoted(field)}.")
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        known = db.execute(
            "SELECT 1 FROM builds WHERE app_id = ? AND build_id = ?", (app_id, build_id)
        ).fetchone()
        if known is None:
            raise not_found(f"Build {build_id} does not exist for app {app_id}.", "build_not_found")
        _activate(store, db, app_id, build_id)
    return schemas.Rollback(app_id=app_id, build_id=build_id)


_BUILD_IDS = "SELECT build_id FROM builds WHERE app_id = ?"


def _activate(store: Store, db: sqlite3.Connection, app_id: str, build_id: str) -> None:
    row = db.execute("SELECT active_build_id FROM apps WHERE app_id = ?", (app_id,)).fetchone()
    if row["active_build_id"] == build_id:
        return
    db.execute("UPDATE apps SET active_build_id = ? WHERE app_id = ?", (build_id, app_id))
    logs.record(db, store, app_id, f"build {build_id} activated", build_id=build_id)


def _uploaded(build_id: str, size: int, options: DeployOptions) -> str:
    extra = "".join(
        f", {name} {value}"
        for name, value in (
            ("env_ref", options.env_ref),
            ("max_concurrent_requests", options.max_concurrent_requests),
        )
        if value is not None
    )
    return f"build {build_id} uploaded ({size} bytes{extra})"


def _report(
    app_id: str,
    *,
    complete: bool = False,
    domains: int = 0,
    present: int = 0,
    artifacts: int = 0,
    variables: int = 0,
) -> schemas.AppDeleteReport:
    """The official CLI's report; the emulator has no CDN tenants or secrets of its own, so
    hostnames count as tenants and secrets stay 0 (secret values are not enabled)."""
    return schemas.AppDeleteReport(
        app_id=app_id,
        complete=complete,
        pointer_deleted=complete,
        cloudfront_tenants_deleted=domains,
        secrets_deleted=0,
        artifacts_deleted=artifacts,
        artifacts_present=present,
        env_keys_deleted=variables,
        domains_deleted=domains,
        catalog_deleted=complete,
        errors=[],
    )
