"""After a 409 on attach: which app holds the hostname, to explain the conflict in manifest terms.

Read-only and bounded: the apps of this project first, then of the other projects the token
may list (a token that may not list projects, or that sees too many, leaves them out).
"""

from __future__ import annotations

import asyncio

from comwit.api.client import ComwitClient
from comwit.api.models import Domain
from comwit.errors import ApiError
from comwit.escape import quoted
from comwit.frozen import frozen

MAX_PROJECTS = 10
MAX_APPS = 200  # per project
IN_FLIGHT = 8  # requests at once


@frozen
class Holder:
    project: str
    app: str


async def find_holder(client: ComwitClient, project: str, host: str) -> Holder | None:
    """The app that holds `host`, in `project` or another project the token can see."""
    found = await _search(client, project, host)
    if found is not None:
        return found
    try:
        projects = await client.list_projects()
    except ApiError:  # listing not enabled for this token (403, 404, 501): look no further
        return None
    others = [p.project_id for p in projects if p.project_id != project][:MAX_PROJECTS]
    for other in others:
        found = await _search(client, other, host)
        if found is not None:
            return found
    return None


async def _search(client: ComwitClient, project: str, host: str) -> Holder | None:
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def domains_of(app_id: str) -> tuple[Domain, ...]:
        async with limit:
            return await client.list_domains(project, app_id)

    try:
        apps = (await client.list_apps(project))[:MAX_APPS]
    except ApiError:
        return None
    # Every read finishes (none is left running); an app that cannot be read is skipped.
    answers = await asyncio.gather(*(domains_of(a.app_id) for a in apps), return_exceptions=True)
    for app, held in zip(apps, answers, strict=True):
        if isinstance(held, BaseException) and not isinstance(held, ApiError):
            raise held
        if not isinstance(held, BaseException) and any(d.domain == host for d in held):
            return Holder(project, app.name)
    return None


def conflict_message(
    app: str, host: str, project: str, holder: Holder | None, detail: str | None = None
) -> str:
    """Why attaching `host` to `app` failed, and what to change in the manifest."""
    field = f"apps.{app}.hosts"
    if holder is None:
        said = f": {detail}" if detail else ""
        return (
            f"attaching hostname {host} conflicts with existing state (409{said}); no app "
            "this token can see holds it: it may be attached in a project the token cannot "
            f"list, or clash with an existing DNS record; detach it there, or remove it from "
            f"{field}"
        )
    where = "this project" if holder.project == project else f"project {holder.project}"
    return (
        f"hostname {host} is attached to app {quoted(holder.app)} of {where} (409); a hostname "
        f"belongs to one app at a time: remove it from {field} (in this environment, when "
        f"an [environments] overlay inherits it), or detach it from {quoted(holder.app)} first"
    )
