"""The contract routes: the same paths, scopes, fields and status codes as the Comwit API.

Route names (`deploy`, `create_app`, ...) are what the fault routes and statistics use, and
each operation's `operationId` in `/openapi.json`. Each route declares the error statuses it
can answer; `spec` fills in the parts the assumptions shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from comwit.api import assumed
from comwit.api.models import DEFAULT_TAIL, LogQuery
from comwit.emulator import apps, hostnames, logs, project_domains, schemas, variables
from comwit.emulator.artifacts import (
    OCTET_STREAM,
    check_upload_headers,
    receive_upload,
    validate_artifact,
)
from comwit.emulator.problems import ApiProblem, forbidden
from comwit.emulator.settings import Settings
from comwit.emulator.store import Principal, Store

_BEARER: Final = re.compile(r"bearer\s+(cwt_[0-9a-f]+)", re.IGNORECASE)
_APP: Final = "/v1/projects/{project_id}/apps/{app_id}"
_UPLOAD_SPEC: Final = {
    "requestBody": {
        "required": True,
        "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _operation_id(route: APIRoute) -> str:
    return route.name


router = APIRouter(generate_unique_id_function=_operation_id)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route can answer, each a problem-detail body. Every route needs a
    token, so `assumed.STATUS_UNAUTHENTICATED` and 403 are always among them."""
    every = sorted({assumed.STATUS_UNAUTHENTICATED, 403, *statuses})
    return {
        status: {"model": schemas.Problem, "description": "A problem detail."} for status in every
    }


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _scope(name: str) -> Callable[[Request, Store, Settings], Principal]:
    def check(request: Request, store: StoreDep, settings: SettingsDep) -> Principal:
        found = _BEARER.fullmatch(request.headers.get("authorization", "").strip())
        who = store.authenticate(found.group(1)) if found else None
        if who is None:
            raise ApiProblem(
                settings.assumptions.status_unauthenticated,
                "Send a valid token: Authorization: Bearer cwt_...",
                "unauthenticated",
            )
        if name not in who.scopes:
            raise forbidden(f"The token lacks the {name} scope this call needs.", "missing_scope")
        return who

    return check


ProjectReader = Annotated[Principal, Depends(_scope("project:read"))]
Reader = Annotated[Principal, Depends(_scope("app:read"))]
Deployer = Annotated[Principal, Depends(_scope("app:deploy"))]
Writer = Annotated[Principal, Depends(_scope("app:write"))]


@router.get("/healthz", name="healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@router.get("/v1/projects", name="list_projects", responses=_errors(404, 501))
def list_projects(
    store: StoreDep, settings: SettingsDep, who: ProjectReader
) -> schemas.ProjectList:
    if settings.project_listing is not None:
        raise ApiProblem(
            settings.project_listing,
            "Project listing is not enabled for this token.",
            "project_listing_disabled",
        )
    return store.list_projects(who)


@router.get(
    "/v1/projects/{project_id}/domains",
    name="list_project_domains",
    responses=_errors(404, 501),
)
def list_project_domains(
    store: StoreDep, settings: SettingsDep, who: Reader, project_id: str
) -> schemas.ProjectDomainList:
    project_domains.require_enabled(settings.managed_dns)
    return project_domains.list_domains(store, who, project_id)


@router.post(
    "/v1/projects/{project_id}/domains",
    name="create_project_domain",
    responses=_errors(400, 404, 409, 501),
)
def create_project_domain(
    *,
    store: StoreDep,
    settings: SettingsDep,
    who: Writer,
    project_id: str,
    body: schemas.CreateProjectDomainBody,
) -> schemas.ProjectDomainEnvelope:
    project_domains.require_enabled(settings.managed_dns)
    domain = hostnames.normalize_hostname(body.domain)
    return project_domains.create(store, who, project_id, domain, delegated=settings.auto_dns)


@router.post("/v1/projects/{project_id}/apps", name="create_app", responses=_errors(400, 404, 409))
def create_app(
    store: StoreDep, who: Writer, project_id: str, body: schemas.CreateAppBody
) -> schemas.AppCreated:
    return apps.create_app(store, who, project_id, body.name)


@router.get("/v1/projects/{project_id}/apps", name="list_apps", responses=_errors(404))
def list_apps(store: StoreDep, who: Reader, project_id: str) -> schemas.AppList:
    return apps.list_apps(store, who, project_id)


@router.get(_APP, name="get_app", responses=_errors(404))
def get_app(
    store: StoreDep, settings: SettingsDep, who: Reader, project_id: str, app_id: str
) -> dict[str, Any]:
    return apps.get_app(store, who, project_id, app_id, settings.assumptions.app_envelope)


@router.delete(_APP, name="delete_app", responses=_errors(404))
def delete_app(
    store: StoreDep, who: Writer, project_id: str, app_id: str
) -> schemas.AppDeleteReport:
    return apps.delete_app(store, who, project_id, app_id)


@router.post(
    f"{_APP}/deployments",
    name="deploy",
    openapi_extra=_UPLOAD_SPEC,
    responses=_errors(assumed.STATUS_ARTIFACT_TOO_LARGE, 400, 404, assumed.STATUS_DOMAIN_CONFLICT),
)
async def deploy(
    request: Request,
    *,
    store: StoreDep,
    settings: SettingsDep,
    who: Deployer,
    project_id: str,
    app_id: str,
    hosts: str | None = None,
    env_ref: str | None = None,
    max_concurrent_requests: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> schemas.Deployment:
    """The body is the raw `.tar.zst`; it is streamed to disk, never held in memory."""
    names = [hostnames.normalize_hostname(h) for h in (hosts or "").split(",") if h.strip()]
    options = apps.DeployOptions(tuple(dict.fromkeys(names)), env_ref, max_concurrent_requests)
    await run_in_threadpool(apps.check_deploy, store, who, project_id, app_id, options.hosts)
    limit = settings.max_artifact_bytes
    check_upload_headers(request.headers, limit)
    staged = await receive_upload(request.stream(), store.incoming_dir, limit)
    try:
        await run_in_threadpool(validate_artifact, staged)
        return await run_in_threadpool(
            functools.partial(
                apps.record_deploy,
                store,
                who,
                project_id,
                app_id,
                staged=staged,
                options=options,
                publish=settings.auto_dns,
            )
        )
    finally:
        staged.unlink(missing_ok=True)


@router.get(f"{_APP}/builds", name="list_builds", responses=_errors(404))
def list_builds(store: StoreDep, who: Reader, project_id: str, app_id: str) -> schemas.BuildList:
    return apps.list_builds(store, who, project_id, app_id)


@router.post(f"{_APP}/rollbacks", name="rollback", responses=_errors(400, 404))
def rollback(
    *,
    store: StoreDep,
    settings: SettingsDep,
    who: Deployer,
    project_id: str,
    app_id: str,
    body: Annotated[dict[str, Any], Body()],
) -> schemas.Rollback:
    """The body's build id field is `assumed.ROLLBACK_BODY_FIELD` (`spec` describes it)."""
    field = settings.assumptions.rollback_body_field
    return apps.rollback(store, who, project_id, app_id, body, field=field)


@router.get(
    f"{_APP}/logs", name="list_logs", responses=_errors(400, 404), response_model_exclude_none=True
)
def list_logs(
    request: Request,
    *,
    store: StoreDep,
    settings: SettingsDep,
    who: Reader,
    project_id: str,
    app_id: str,
    tail: Annotated[int, Query(ge=1, le=logs.MAX_TAIL)] = DEFAULT_TAIL,
    since: str | None = None,
    level: str | None = None,
    build_id: str | None = None,
    route: str | None = None,
    request_id: str | None = None,
) -> schemas.LogPage:
    """Newest first; the page token's query parameter is `assumed.LOGS_PAGE_TOKEN_PARAM`."""
    token = request.query_params.get(settings.assumptions.logs_page_token)
    query = LogQuery(tail, since, level, build_id, route, request_id, token)
    return logs.list_logs(store, who, project_id, app_id, query, settings.logs_page_size)


@router.get(f"{_APP}/domains", name="list_domains", responses=_errors(404))
def list_domains(store: StoreDep, who: Reader, project_id: str, app_id: str) -> schemas.DomainList:
    return hostnames.list_domains(store, who, project_id, app_id)


@router.post(
    f"{_APP}/domains",
    name="attach_domain",
    responses=_errors(
        400, 404, assumed.STATUS_DOMAIN_CONFLICT, assumed.STATUS_NOT_UNDER_MANAGED_DOMAIN, 501
    ),
)
def attach_domain(
    *,
    store: StoreDep,
    settings: SettingsDep,
    who: Writer,
    project_id: str,
    app_id: str,
    body: schemas.AttachDomainBody,
) -> schemas.DomainAttached:
    return hostnames.attach(
        store,
        who,
        project_id,
        app_id,
        body,
        publish=settings.auto_dns,
        managed_dns=settings.managed_dns,
    )


@router.post(
    f"{_APP}/domains/{{domain}}/finalize",
    name="finalize_domain",
    responses=_errors(404, assumed.STATUS_DOMAIN_CONFLICT),
)
def finalize_domain(
    store: StoreDep, who: Writer, project_id: str, app_id: str, domain: str
) -> schemas.DomainEnvelope:
    return hostnames.finalize(store, who, project_id, app_id, domain)


@router.delete(f"{_APP}/domains/{{domain}}", name="detach_domain", responses=_errors(404))
def detach_domain(
    store: StoreDep, who: Writer, project_id: str, app_id: str, domain: str
) -> schemas.Domain:
    return hostnames.detach(store, who, project_id, app_id, domain)


@router.get(f"{_APP}/environment", name="list_env", responses=_errors(404))
def list_env(store: StoreDep, who: Reader, project_id: str, app_id: str) -> schemas.VariableList:
    return variables.list_variables(store, who, project_id, app_id)


@router.put(f"{_APP}/environment/{{key}}", name="put_env", responses=_errors(400, 404))
def put_env(
    *,
    store: StoreDep,
    who: Writer,
    project_id: str,
    app_id: str,
    key: str,
    body: schemas.PutVariableBody,
) -> schemas.VariableSet:
    return variables.put(store, who, project_id, app_id, key=key, body=body)


@router.delete(f"{_APP}/environment/{{key}}", name="delete_env", responses=_errors(400, 404))
def delete_env(
    store: StoreDep, who: Writer, project_id: str, app_id: str, key: str
) -> schemas.VariableDeleted:
    return variables.delete(store, who, project_id, app_id, key)
