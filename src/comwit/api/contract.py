"""The contract comwit relies on, as data: each route the client calls, with the fields it
sends and the model it reads the answer into.

`comwit doctor` compares this with the API's published `GET /openapi.json`; a test keeps the
emulator's own document equal to it. Route names are the client's (and the emulator's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Final

from pydantic import BaseModel

from comwit.api import assumed
from comwit.api.models import (
    App,
    AppDeleteReport,
    AppEnvelope,
    AppList,
    BuildList,
    DeployResult,
    Domain,
    DomainAttachment,
    DomainEnvelope,
    DomainList,
    EnvList,
    EnvPutResult,
    LogPage,
    ProjectDomainEnvelope,
    ProjectDomainList,
    ProjectList,
    RollbackResult,
)
from comwit.frozen import frozen

JSON: Final = "application/json"
OCTET_STREAM: Final = "application/octet-stream"
_APP: Final = "/v1/projects/{project_id}/apps/{app_id}"


@frozen
class Route:
    """One call. `answers`: the models a 2xx body may fit (the first is the usual one);
    `body`: the request's fields (in `media`); `query`: its query parameters; `statuses`:
    error statuses comwit gives a meaning to, each with the assumption (or fact) behind it;
    `assumption`: the `assumed` name that shapes the route, if any."""

    name: str
    method: str
    path: str
    answers: tuple[type[BaseModel], ...] = ()
    body: tuple[str, ...] = ()
    media: str = JSON
    query: tuple[str, ...] = ()
    statuses: Mapping[int, str] = field(default_factory=dict)
    assumption: str | None = None
    auth: bool = True


_LISTING_OFF: Final = "PROJECT_LISTING_DISABLED"
_MANAGED_OFF: Final = "MANAGED_DNS_DISABLED"
# What each status reason means, as doctor names it; upper-case keys are `assumed` names.
REASONS: Final = {
    "STATUS_UNAUTHENTICATED": "a missing or refused token (STATUS_UNAUTHENTICATED)",
    _LISTING_OFF: "project listing not enabled for the token (PROJECT_LISTING_DISABLED)",
    _MANAGED_OFF: "managed DNS not enabled (the docs)",
    "STATUS_ARTIFACT_TOO_LARGE": "an artifact over the size limit (STATUS_ARTIFACT_TOO_LARGE)",
    "STATUS_DOMAIN_CONFLICT": (
        "a hostname finalized too early or held by another app (STATUS_DOMAIN_CONFLICT)"
    ),
    "ROLLBACK_BODY_FIELD": "a rollback to an unknown build (ROLLBACK_BODY_FIELD)",
    "STATUS_NOT_UNDER_MANAGED_DOMAIN": (
        "a managed hostname under no active project domain (STATUS_NOT_UNDER_MANAGED_DOMAIN)"
    ),
}

ROUTES: Final = (
    Route("healthz", "GET", "/healthz", auth=False),
    Route("readyz", "GET", "/readyz", auth=False),
    Route(
        "list_projects",
        "GET",
        "/v1/projects",
        (ProjectList,),
        statuses={404: _LISTING_OFF, 501: _LISTING_OFF},
    ),
    Route(
        "list_project_domains",
        "GET",
        "/v1/projects/{project_id}/domains",
        (ProjectDomainList,),
        statuses={501: _MANAGED_OFF},
    ),
    Route(
        "create_project_domain",
        "POST",
        "/v1/projects/{project_id}/domains",
        (ProjectDomainEnvelope,),
        body=("domain", "dns_mode"),
        statuses={501: _MANAGED_OFF},
    ),
    Route("create_app", "POST", "/v1/projects/{project_id}/apps", (AppEnvelope,), body=("name",)),
    Route("list_apps", "GET", "/v1/projects/{project_id}/apps", (AppList,)),
    Route("get_app", "GET", _APP, (AppEnvelope, App), assumption="APP_ENVELOPE"),
    Route("delete_app", "DELETE", _APP, (AppDeleteReport,)),
    Route(
        "deploy",
        "POST",
        f"{_APP}/deployments",
        (DeployResult,),
        media=OCTET_STREAM,
        query=("hosts", "env_ref", "max_concurrent_requests"),
        statuses={
            assumed.STATUS_ARTIFACT_TOO_LARGE: "STATUS_ARTIFACT_TOO_LARGE",
            assumed.STATUS_DOMAIN_CONFLICT: "STATUS_DOMAIN_CONFLICT",
        },
    ),
    Route("list_builds", "GET", f"{_APP}/builds", (BuildList,)),
    Route(
        "rollback",
        "POST",
        f"{_APP}/rollbacks",
        (RollbackResult,),
        body=(assumed.ROLLBACK_BODY_FIELD,),
        statuses={404: "ROLLBACK_BODY_FIELD"},
        assumption="ROLLBACK_BODY_FIELD",
    ),
    Route(
        "list_logs",
        "GET",
        f"{_APP}/logs",
        (LogPage,),
        query=(
            "tail",
            "since",
            "level",
            "build_id",
            "route",
            "request_id",
            assumed.LOGS_PAGE_TOKEN_PARAM,
        ),
        assumption="LOGS_PAGE_TOKEN_PARAM",
    ),
    Route("list_domains", "GET", f"{_APP}/domains", (DomainList,)),
    Route(
        "attach_domain",
        "POST",
        f"{_APP}/domains",
        (DomainAttachment,),
        body=("domain", "dns_mode"),
        statuses={
            assumed.STATUS_DOMAIN_CONFLICT: "STATUS_DOMAIN_CONFLICT",
            assumed.STATUS_NOT_UNDER_MANAGED_DOMAIN: "STATUS_NOT_UNDER_MANAGED_DOMAIN",
            501: _MANAGED_OFF,
        },
    ),
    Route(
        "finalize_domain",
        "POST",
        f"{_APP}/domains/{{domain}}/finalize",
        (DomainEnvelope,),
        statuses={assumed.STATUS_DOMAIN_CONFLICT: "STATUS_DOMAIN_CONFLICT"},
    ),
    Route("detach_domain", "DELETE", f"{_APP}/domains/{{domain}}", (Domain,)),
    Route("list_env", "GET", f"{_APP}/environment", (EnvList,)),
    Route(
        "put_env",
        "PUT",
        f"{_APP}/environment/{{key}}",
        (EnvPutResult,),
        body=("value", "secret"),
    ),
    # The contract names no answer for deleting an env var: the client reads none.
    Route("delete_env", "DELETE", f"{_APP}/environment/{{key}}"),
)
BY_NAME: Final = {route.name: route for route in ROUTES}
