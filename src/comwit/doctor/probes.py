"""Doctor, the API: read-only calls that show what the API in use offers comwit.

Reachability and readiness, the token, its scopes as far as reads reveal them, the project,
the reads plan needs on one of its apps, managed DNS, and the published spec (compared in
`doctor.spec`). All concurrent, each bounded by the client's (short) deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from comwit.api import assumed
from comwit.api.client import ComwitClient
from comwit.api.models import App, LogQuery, ProjectDomain
from comwit.doctor.findings import Finding, differs, ok, unknown
from comwit.doctor.spec import compare
from comwit.errors import (
    ApiError,
    ApiStatusError,
    ApiTransportError,
    FeatureDisabledError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from comwit.frozen import frozen

T = TypeVar("T")
# No read shows these; a call that needs one answers 403 without it.
_UNSEEN = "app:deploy and app:write cannot be checked without writing"


@frozen
class Target:
    """What to check: the project (if known), whether a token was found, and whether the
    manifest has `dns = "managed"` hostnames (then managed DNS is needed)."""

    project: str | None
    token: bool = True
    managed_hosts: bool = False


async def diagnose(client: ComwitClient, target: Target) -> list[Finding]:
    """Every check, in a fixed order."""
    started = time.monotonic()
    alive = await _outcome(client.healthz)
    if isinstance(alive, ApiError):
        return [
            differs("reachable (GET /healthz)", str(alive)),
            unknown("everything else", "not checked: the API did not answer"),
        ]
    reach = ok("reachable (GET /healthz)", f"{(time.monotonic() - started) * 1000:.0f} ms")
    ready, spec, account = await asyncio.gather(
        _ready(client), _spec(client), _account(client, target)
    )
    return [reach, ready, *account, *spec]


async def _ready(client: ComwitClient) -> Finding:
    check = "ready (GET /readyz)"
    answer = await _outcome(client.readyz)
    if isinstance(answer, ApiError):
        return differs(check, str(answer))
    return ok(check) if answer else differs(check, "503: the service is not ready; retry later")


async def _spec(client: ComwitClient) -> list[Finding]:
    document = await _outcome(client.openapi)
    if isinstance(document, ApiStatusError | ApiTransportError):
        return [unknown("spec (GET /openapi.json)", f"not published here ({_short(document)})")]
    if isinstance(document, ApiError):
        return [unknown("spec (GET /openapi.json)", str(document))]
    version = document.get("openapi", "?")
    return [ok("spec (GET /openapi.json)", f"OpenAPI {version}"), *compare(document)]


async def _account(client: ComwitClient, target: Target) -> list[Finding]:
    if not target.token:
        return [
            differs(
                "token",
                "none found: set COMWIT_TOKEN, or log in with the comwit CLI (its config file)",
            )
        ]
    listing = await _outcome(client.list_projects)
    if target.project is None:
        return [
            _token(listing, None),
            _listing(listing, None),
            unknown("project", "none given: pass --project, set COMWIT_PROJECT or use a manifest"),
        ]
    project = target.project
    apps = await _outcome(lambda: client.list_apps(project))
    findings = [_token(listing, apps), _listing(listing, project), _project(apps, project)]
    if isinstance(apps, tuple):
        findings += await _app_reads(client, project, apps)
    findings.append(await _managed_dns(client, project, target.managed_hosts))
    return findings


def _token(listing: object, apps: object) -> Finding:
    """What the listing and the project's app list showed of the token."""
    answers = (apps, listing)
    refused = next((a for a in answers if isinstance(a, UnauthorizedError)), None)
    if refused is not None:
        return differs("token", f"refused ({refused.status}): {_short(refused)}")
    if any(isinstance(a, tuple) for a in answers):
        return ok("token", f"accepted; {_UNSEEN}")
    if any(isinstance(a, ForbiddenError) for a in answers):
        return unknown("token", "a 403 answered: a refused token, or one without the scope")
    return unknown("token", "no call showed whether it is accepted")


def _listing(answer: object, project: str | None) -> Finding:
    check = "scope project:read (GET /v1/projects)"
    if isinstance(answer, tuple):
        names = {p.project_id for p in answer} | {p.name for p in answer}
        seen = f"lists {_count(len(answer), 'project')}"
        if project is not None and project not in names:
            seen += f", not {project}"
        return ok(check, seen)
    if isinstance(answer, ApiStatusError) and answer.status in assumed.PROJECT_LISTING_DISABLED:
        return unknown(
            check, f"listing is not enabled for this token ({answer.status}); not needed"
        )
    if isinstance(answer, ForbiddenError):
        return differs(
            check,
            "the token lacks it (403); not needed: comwit uses the project given",
            needed=False,
        )
    return unknown(check, _short(answer))


def _project(apps: object, project: str) -> Finding:
    check = f"project {project} (GET /v1/projects/{project}/apps, scope app:read)"
    if isinstance(apps, tuple):
        return ok(check, _count(len(apps), "app"))
    if isinstance(apps, NotFoundError):
        return differs(check, "it does not exist (404): check the project id")
    if isinstance(apps, ForbiddenError):
        return differs(check, "403: the token lacks app:read or is not a member of the project")
    return differs(check, _short(apps))


async def _app_reads(client: ComwitClient, project: str, apps: tuple[App, ...]) -> list[Finding]:
    if not apps:
        return [unknown("reads of an app", "the project has no app to read yet")]
    app = apps[0]
    reads: dict[str, Callable[[], Awaitable[Any]]] = {
        "builds": lambda: client.list_builds(project, app.app_id),
        "hostnames": lambda: client.list_domains(project, app.app_id),
        "env vars": lambda: client.list_env(project, app.app_id),
        "logs": lambda: client.list_logs(project, app.app_id, LogQuery(tail=1)),
    }
    answers = await asyncio.gather(*(_outcome(read) for read in reads.values()))
    check = f"reads of app {app.name} ({', '.join(reads)})"
    pairs = zip(reads, answers, strict=True)
    failed = [f"{name}: {_short(a)}" for name, a in pairs if isinstance(a, ApiError)]
    return [differs(check, "; ".join(failed)) if failed else ok(check)]


async def _managed_dns(client: ComwitClient, project: str, needed: bool) -> Finding:
    check = f"managed DNS (GET /v1/projects/{project}/domains)"
    answer = await _outcome(lambda: client.list_project_domains(project))
    if isinstance(answer, tuple):
        return ok(check, _zones(answer))
    why = "not enabled (501)" if isinstance(answer, FeatureDisabledError) else _short(answer)
    if needed:
        return differs(check, f'{why}; the manifest has dns = "managed" hostnames')
    return unknown(check, f'{why}; needed only for dns = "managed" hostnames')


def _zones(domains: tuple[ProjectDomain, ...]) -> str:
    active = sum(1 for d in domains if d.status == assumed.PROJECT_DOMAIN_ACTIVE)
    return f"{_count(len(domains), 'project domain')}, {active} active"


async def _outcome(call: Callable[[], Awaitable[T]]) -> T | ApiError:
    """The call's answer, or the comwit error it raised."""
    try:
        return await call()
    except ApiError as exc:
        return exc


def _short(answer: object) -> str:
    if isinstance(answer, ApiStatusError):
        return f"{answer.status}: {answer.detail or answer.title or 'no detail'}"
    return str(answer)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
