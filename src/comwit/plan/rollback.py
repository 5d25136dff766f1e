"""A rollback plan: make an existing build of one app live again, with what the ledger knows.

Pure. `previous` is the build that was live before the current one: from the ledger's
activation history, else by creation time.
"""

from __future__ import annotations

from comwit.errors import PlanError
from comwit.escape import quoted
from comwit.plan.actions import Activate, AppPlan, Plan, RecordLedger
from comwit.plan.diff import read_preconditions
from comwit.plan.state import ObservedApp, ObservedBuild, Options

PREVIOUS = "previous"


def rollback_plan(app: ObservedApp, project: str, to: str) -> Plan:
    """The plan that activates build `to` (an id, or "previous") of `app`."""
    build_id = previous_build(app) if to == PREVIOUS else to
    if build_id is None:
        raise PlanError(
            f"app {quoted(app.name)} has no build before {app.active_build_id} to roll back to"
        )
    if not app.has_build(build_id):
        known = ", ".join(b.build_id for b in _newest_first(app.builds)[:5]) or "none"
        raise PlanError(
            f"app {quoted(app.name)} has no build {quoted(build_id)}; its newest builds: {known} "
            f"(`comwit builds {app.name}` lists them all)"
        )
    pre = read_preconditions(app)
    if build_id == app.active_build_id:
        return Plan(project=project, apps=(AppPlan(app=app.name, preconditions=pre),))
    entry = app.ledger.get(build_id)
    digest = entry.digest if entry else None
    options = Options(entry.env_ref, entry.max_concurrent_requests) if entry else Options()
    actions = (
        Activate(
            app=app.name,
            build_id=build_id,
            reason="rollback",
            digest=digest,
            options=options,
            live_build=app.active_build_id,
        ),
        RecordLedger(app=app.name, digest=digest, options=options),
    )
    return Plan(
        project=project,
        apps=(AppPlan(app=app.name, preconditions=pre, actions=actions),),
    )


def previous_build(app: ObservedApp) -> str | None:
    """The build live before the current one: the ledger's history, else creation order."""
    live = app.active_build_id
    for build_id in reversed(app.ledger.history):
        if build_id != live and app.has_build(build_id):
            return build_id
    ordered = _newest_first(app.builds)
    ids = [b.build_id for b in ordered]
    after_live = ids[ids.index(live) + 1 :] if live in ids else ids
    return next(iter(after_live), None)


def _newest_first(builds: tuple[ObservedBuild, ...]) -> list[ObservedBuild]:
    """Newest first by deploy time, then creation time (ISO 8601 sorts as text)."""
    return sorted(builds, key=lambda b: (b.deployed_at_ms or 0, b.created_at or ""), reverse=True)
