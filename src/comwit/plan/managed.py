"""Plan step, after diff: `dns = "managed"` hostnames need a project domain Comwit manages.

Comwit writes a managed hostname's records into an active project domain of the app's
project at or above it; with none, or with managed DNS disabled (501), attaching it fails.
So the plan says so now, per app, instead of apply failing half-way. Pure: the project's
zones are read by the caller.
"""

from __future__ import annotations

from comwit.frozen import frozen
from comwit.plan.actions import AppPlan, AttachHost, Plan

MANAGED = "managed_project_domain"


@frozen
class ProjectZones:
    """The project's domains as the API listed them (`active` ones usable, others not yet),
    or `disabled`: why managed DNS cannot be used at all (a 501 explained)."""

    active: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    disabled: str | None = None


def managed_hosts(plan: Plan) -> tuple[str, ...]:
    """The hostnames the plan attaches with managed DNS."""
    return tuple(
        action.host
        for app in plan.apps
        for action in app.actions
        if isinstance(action, AttachHost) and action.dns_mode == MANAGED
    )


def check_managed_hosts(plan: Plan, zones: ProjectZones) -> Plan:
    """`plan` with each app that attaches an unusable managed hostname turned into an error."""
    apps = tuple(_checked(app, plan.project, zones) for app in plan.apps)
    return plan if apps == plan.apps else plan.model_copy(update={"apps": apps})


def _checked(app: AppPlan, project: str, zones: ProjectZones) -> AppPlan:
    problems = [
        _problem(action.host, project, zones)
        for action in app.actions
        if isinstance(action, AttachHost) and action.dns_mode == MANAGED
    ]
    found = [problem for problem in problems if problem]
    if not found:
        return app
    return app.model_copy(update={"actions": (), "held": (), "error": "; ".join(found)})


def _problem(host: str, project: str, zones: ProjectZones) -> str | None:
    if zones.disabled is not None:
        return (
            f'hostname {host} has dns = "managed", but {zones.disabled}: use dns = "external" '
            "and publish the DNS records comwit prints"
        )
    if any(_under(host, zone) for zone in zones.active):
        return None
    waiting = [zone for zone in zones.pending if _under(host, zone)]
    if waiting:
        return (
            f'hostname {host} has dns = "managed", but project {project}\'s domain '
            f"{waiting[0]} is not delegated yet: point its NS records at the nameservers Comwit "
            'gave for it, or use dns = "external"'
        )
    known = ", ".join(zones.active + zones.pending) or "none"
    return (
        f'hostname {host} has dns = "managed", but it is under no domain that Comwit manages '
        f"for project {project} (its project domains: {known}): add its domain to the project "
        f'(POST /v1/projects/{project}/domains) and delegate it, or use dns = "external"'
    )


def _under(host: str, zone: str) -> bool:
    return host == zone or host.endswith("." + zone)
