"""Observe step, optional: the projects a token can see, when the API says; and a project's
managed DNS zones, when a plan attaches managed hostnames.

Listing may be switched off for a token (404 or 501, which the official CLI reads as "not
enabled" and falls back to the configured project) or the token may lack `project:read`
(403). Nothing comwit does needs the list, so neither is an error here: the answer says why
the list is missing, and the caller carries on with the project it was given.
"""

from __future__ import annotations

from comwit.api import assumed
from comwit.api.client import ComwitClient
from comwit.api.models import Project
from comwit.errors import ApiStatusError, FeatureDisabledError, ForbiddenError
from comwit.frozen import frozen
from comwit.plan.managed import ProjectZones


@frozen
class ProjectListing:
    """`projects` when the API listed them, else None and `unavailable` says why."""

    projects: tuple[Project, ...] | None
    unavailable: str | None = None

    def has(self, project: str) -> bool | None:
        """Whether `project` is among them; None when the list is unavailable."""
        if self.projects is None:
            return None
        return any(project in (p.project_id, p.name) for p in self.projects)


async def visible_projects(client: ComwitClient) -> ProjectListing:
    """The token's projects, or why the API does not list them (403, 404, 501). Other
    errors (a refused token, the network) are raised as usual."""
    try:
        return ProjectListing(await client.list_projects())
    except ForbiddenError:
        return ProjectListing(None, "the token lacks the project:read scope (403)")
    except ApiStatusError as exc:
        if exc.status not in assumed.PROJECT_LISTING_DISABLED:
            raise
        return ProjectListing(None, f"project listing is not enabled for this token ({exc.status})")


async def project_zones(
    client: ComwitClient, project: str
) -> tuple[ProjectZones | None, str | None]:
    """The project's domains for checking managed hostnames, or (None, a warning) when the
    API will not say. A 501 is an answer: managed DNS is disabled."""
    try:
        domains = await client.list_project_domains(project)
    except FeatureDisabledError as exc:
        disabled = (
            f"managed DNS is not enabled on this service ({exc.method} {exc.path} answered "
            f"501: {exc.detail or exc.title or 'the feature is disabled'})"
        )
        return ProjectZones(disabled=disabled), None
    except ApiStatusError as exc:
        return None, f"managed hostnames not checked against the project's domains: {exc}"
    active = tuple(d.domain for d in domains if d.status == assumed.PROJECT_DOMAIN_ACTIVE)
    pending = tuple(d.domain for d in domains if d.status != assumed.PROJECT_DOMAIN_ACTIVE)
    return ProjectZones(active=active, pending=pending), None
