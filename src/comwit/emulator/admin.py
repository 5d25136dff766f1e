"""Emulator-only routes under `/_emulator/`: tokens, DNS publishing, faults, statistics.

They are not part of the Comwit API, need no token, and are left out of `/openapi.json`.
Bodies are strict (unknown fields answer 400) so a misspelt fault is never silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from comwit.emulator import hostnames, project_domains, routes, schemas
from comwit.emulator.faults import Faults, Latency, Shot
from comwit.emulator.problems import bad_request
from comwit.emulator.routes import StoreDep
from comwit.escape import quoted

router = APIRouter(prefix="/_emulator", include_in_schema=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenBody(_Strict):
    scopes: list[str]
    projects: list[str] = []


class LatencyBody(_Strict):
    ms: int = Field(ge=0, le=60_000)
    route: str | None = None
    method: str | None = None
    skip: int = Field(default=0, ge=0)  # the first `skip` matching calls pass at once
    hold: bool = False  # wait until POST /_emulator/faults/release, `ms` at the most


class FailBody(_Strict):
    route: str | None = None
    count: int = Field(default=1, ge=1)
    status: int = Field(default=502, ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0)  # seconds, sent as Retry-After


class DropBody(_Strict):
    route: str | None = None
    count: int = Field(default=1, ge=1)
    when: Literal["before", "after"] = "before"


def get_faults(request: Request) -> Faults:
    faults: Faults = request.app.state.faults
    return faults


FaultsDep = Annotated[Faults, Depends(get_faults)]


@router.post("/tokens")
async def issue_token(store: StoreDep, body: TokenBody) -> dict[str, str]:
    try:
        token = await run_in_threadpool(store.issue_token, body.scopes, body.projects)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return {"token": token}


@router.post("/dns/{domain}/publish")
async def publish_dns(store: StoreDep, domain: str) -> schemas.DomainAttached:
    return await run_in_threadpool(hostnames.publish, store, domain.lower())


@router.post("/project-domains/{domain}/delegate")
async def delegate_project_domain(store: StoreDep, domain: str) -> schemas.ProjectDomainEnvelope:
    return await run_in_threadpool(project_domains.delegate, store, domain.lower())


@router.get("/routes")
async def list_routes() -> dict[str, list[dict[str, Any]]]:
    """The emulated routes by name, as fault rules name them."""
    return {"routes": _emulated_routes()}


@router.get("/faults")
async def show_faults(faults: FaultsDep) -> dict[str, Any]:
    return faults.describe()


@router.delete("/faults")
async def clear_faults(faults: FaultsDep) -> dict[str, Any]:
    faults.clear()
    return faults.describe()


@router.post("/faults/latency")
async def add_latency(faults: FaultsDep, body: LatencyBody) -> dict[str, Any]:
    _check_route(body.route)
    method = body.method.upper() if body.method else None
    rule = Latency(ms=body.ms, route=body.route, method=method, skip=body.skip, hold=body.hold)
    faults.add_latency(rule)
    return faults.describe()


@router.post("/faults/release")
async def release_held(faults: FaultsDep) -> dict[str, Any]:
    """Let every call a `hold` latency holds now go on."""
    released = faults.release()
    return {**faults.describe(), "released": released}


@router.post("/faults/fail")
async def fail_next(faults: FaultsDep, body: FailBody) -> dict[str, Any]:
    _check_route(body.route)
    shot = Shot(
        kind="fail",
        route=body.route,
        remaining=body.count,
        status=body.status,
        retry_after=body.retry_after,
    )
    faults.add_shot(shot)
    return faults.describe()


@router.post("/faults/drop")
async def drop_next(faults: FaultsDep, body: DropBody) -> dict[str, Any]:
    _check_route(body.route)
    faults.add_shot(Shot(kind="drop", route=body.route, remaining=body.count, when=body.when))
    return faults.describe()


@router.get("/stats")
async def show_stats(faults: FaultsDep) -> dict[str, Any]:
    return faults.stats()


@router.delete("/stats")
async def reset_stats(faults: FaultsDep) -> dict[str, Any]:
    faults.reset_stats()
    return faults.stats()


def _emulated_routes() -> list[dict[str, Any]]:
    found = [
        {"name": r.name, "path": r.path, "methods": sorted(r.methods or ())}
        for r in routes.router.routes
        if isinstance(r, Route)
    ]
    return sorted(found, key=lambda r: str(r["name"]))


def _check_route(route: str | None) -> None:
    names = {str(r["name"]) for r in _emulated_routes()}
    if route is not None and route not in names:
        raise bad_request(f"Unknown route {quoted(route)}; known: {', '.join(sorted(names))}.")
