"""Claim a preview plan's apps: mark them as comwit's previews, and refuse what is not one."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from comwit.frozen import frozen
from comwit.plan.actions import AppPlan, AttachHost, CreateApp, Plan, RecordLedger
from comwit.plan.ledger import Lease, PreviewOf
from comwit.plan.state import ObservedApp


@frozen
class PreviewTarget:
    """Pull request `pr`'s preview: preview app name -> the manifest app it previews."""

    pr: int
    bases: Mapping[str, str]
    production: frozenset[str] = frozenset()  # hostnames a preview may never bind
    max_apps: int = 20


def claim(
    plan: Plan, observed: Mapping[str, ObservedApp], target: PreviewTarget, *, now_ms: int
) -> Plan:
    """Every ledger record of the plan marks its app as the preview; an existing app without
    this pull request's mark, or an attach of a production hostname, is an app error."""
    apps = tuple(_claim(a, observed, target, now_ms) for a in plan.apps)
    return plan.model_copy(update={"apps": apps})


def created_apps(plan: Plan) -> list[str]:
    """The apps the plan creates."""
    return [a.app for a in plan.apps if any(isinstance(x, CreateApp) for x in a.actions)]


def over_cap(plan: Plan, previews: Collection[str], max_apps: int) -> str | None:
    """Why the plan's new preview apps would pass [preview] max_apps, given the names of the
    previews that exist (None: they fit)."""
    creating = created_apps(plan)
    total = len(set(previews) | set(creating))
    if not creating or total <= max_apps:
        return None
    return (
        f"creating {len(creating)} preview app(s) would make {total} in the project, over "
        f"[preview] max_apps = {max_apps} ({len(previews)} exist): delete old ones with "
        "`comwit preview prune` or `comwit preview down --pr N`, or raise max_apps"
    )


def _claim(
    app: AppPlan, observed: Mapping[str, ObservedApp], target: PreviewTarget, now_ms: int
) -> AppPlan:
    base = target.bases[app.app]
    have = observed.get(app.app)
    mark = have.ledger.preview if have is not None else None
    lease = have.ledger.lease if have is not None else None
    if mark is None and lease is not None and lease.live(now_ms):
        return _refused(app, _being_created(app.app, lease))
    if have is not None and (mark is None or (mark.base, mark.pr) != (base, target.pr)):
        whose = "has no preview mark" if mark is None else f"marks pull request #{mark.pr}"
        return _refused(
            app,
            f"app {app.app} exists and is not comwit's preview of {base} for pull request "
            f"#{target.pr} (its ledger {whose}); comwit leaves it alone: rename or delete it",
        )
    for action in app.actions:
        if isinstance(action, AttachHost) and action.host in target.production:
            return _refused(app, f"hostname {action.host} is a production hostname")
    of = PreviewOf(base, target.pr)
    actions = tuple(
        a.model_copy(update={"preview": of}) if isinstance(a, RecordLedger) else a
        for a in app.actions
    )
    return app.model_copy(update={"actions": actions})


def _being_created(app: str, lease: Lease) -> str:
    # A run creating the preview (an earlier push racing this one) marks it with its lease;
    # one of an older comwit marked it only when it recorded the deploy, so until then such
    # an app has that run's lease and no mark.
    return (
        f"app {app} has no preview mark yet and another run is applying it: {lease.holder} "
        f"({lease.run}), its lease runs until {lease.until()}. If that run is creating this pull "
        "request's preview, run again once it is done; comwit never adopts an app without the mark"
    )


def _refused(app: AppPlan, why: str) -> AppPlan:
    return app.model_copy(update={"actions": (), "held": (), "error": why})
