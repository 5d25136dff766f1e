"""Which marked previews `preview down` and `preview prune` delete, as a plan (pure)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from comwit.escape import quoted
from comwit.plan.actions import AppPlan, DeleteApp, Plan
from comwit.plan.diff import read_preconditions
from comwit.plan.ledger import PreviewMark as _Mark
from comwit.plan.state import ObservedApp

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhdw])")


def parse_duration(text: str) -> int:
    """'7d' -> milliseconds; ValueError says how to write one."""
    found = _DURATION.fullmatch(text.strip())
    if not found:
        if re.fullmatch(r"[0-9]{7,}[smhdw]", text.strip()):
            raise ValueError(f"duration {quoted(text)} is too long: at most 999999 of its unit")
        raise ValueError(
            f"duration {quoted(text)} is invalid: write a number and a unit, e.g. '7d', '12h', '2w'"
        )
    return int(found[1]) * _UNITS[found[2]] * 1000


def marked(apps: Mapping[str, ObservedApp]) -> dict[str, ObservedApp]:
    """The apps whose ledger marks them as comwit's previews: the only ones ever deleted."""
    return {name: app for name, app in sorted(apps.items()) if app.ledger.preview is not None}


def down_plan(project: str, apps: Mapping[str, ObservedApp], pr: int) -> Plan:
    """Delete pull request `pr`'s previews."""
    chosen = [app for app in marked(apps).values() if _mark(app).pr == pr]
    return _deleting(project, chosen, apps)


def sparing(plan: Plan, manifest: Collection[str]) -> tuple[Plan, tuple[str, ...]]:
    """`plan` without deleting an app of the manifest (`manifest`: its app names), whatever
    its ledger says (apply may have made a preview one since), and the apps so spared."""
    spared = tuple(app.app for app in plan.apps if app.app in manifest)
    if not spared:
        return plan, ()
    kept = tuple(app for app in plan.apps if app.app not in manifest)
    unmanaged = tuple(sorted((*plan.unmanaged, *spared)))
    return plan.model_copy(update={"apps": kept, "unmanaged": unmanaged}), spared


def prune_plan(
    project: str,
    apps: Mapping[str, ObservedApp],
    *,
    now_ms: int,
    older_than_ms: int,
    keep: Collection[int] = (),
    closed: Collection[int] = (),
) -> Plan:
    """Delete previews last deployed more than `older_than_ms` ago, and those of pull
    requests in `closed`; never those of the pull requests in `keep`."""
    chosen = [
        app
        for app in marked(apps).values()
        if _mark(app).pr not in keep
        and (now_ms - _mark(app).deployed_ms > older_than_ms or _mark(app).pr in closed)
    ]
    return _deleting(project, chosen, apps)


def _mark(app: ObservedApp) -> _Mark:
    assert app.ledger.preview is not None
    return app.ledger.preview


def _deleting(project: str, chosen: list[ObservedApp], apps: Mapping[str, ObservedApp]) -> Plan:
    plans = []
    for app in chosen:
        mark = _mark(app)
        action = DeleteApp(
            app=app.name,
            app_id=app.app_id,
            base=mark.base,
            pr=mark.pr,
            deployed_ms=mark.deployed_ms,
        )
        plans.append(
            AppPlan(app=app.name, preconditions=read_preconditions(app), actions=(action,))
        )
    left = tuple(sorted(set(apps) - {app.name for app in chosen}))
    return Plan(project=project, apps=tuple(plans), unmanaged=left, subject="previews")
