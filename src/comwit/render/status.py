"""Render the status of managed apps: live build, hostnames, and whether each matches. Pure.

Made from a plan and the state it observed: an app matches the manifest when its plan has
no action, nothing held back and no error.
"""

from __future__ import annotations

import json
from typing import Any, Literal, assert_never

from comwit.api.assumed import DOMAIN_ACTIVE, DOMAIN_PENDING
from comwit.escape import one_line
from comwit.plan.actions import (
    Action,
    Activate,
    AppPlan,
    AttachHost,
    CreateApp,
    DeleteApp,
    DeleteEnv,
    Deploy,
    DetachHost,
    FinalizeHost,
    Plan,
    RecordLedger,
    SetEnv,
)
from comwit.plan.state import ObservedApp, ObservedState
from comwit.render.builds import FORMAT_VERSION, UNKNOWN, format_ms, ledger_document
from comwit.render.describe import activate_words, selection, short, unmanaged_line
from comwit.render.dns import record_lines, waiting_hosts

State = Literal["matches", "differs", "error"]
_HOST_STATUS = {DOMAIN_ACTIVE: "active", DOMAIN_PENDING: "waiting for DNS records"}


def app_state(app: AppPlan) -> State:
    if app.error:
        return "error"
    return "differs" if app.changed or app.held else "matches"


def change_labels(app: AppPlan) -> list[str]:
    """A few words per change, in plan order; ledger bookkeeping is not a change."""
    return [label for action in app.actions if (label := _label(action))]


def render_status_text(plan: Plan, observed: ObservedState, *, verbose: bool = False) -> str:
    where = f"project {plan.project}"
    if plan.environment:
        where += f", environment {plan.environment}"
    lines = [f"comwit status for {where}: {selection(plan)}", ""]
    for app in plan.apps:
        lines += _app_lines(app, observed.apps.get(app.app), verbose=verbose)
    unmanaged = unmanaged_line(plan)
    if unmanaged:
        lines += [f"{unmanaged}.", ""]
    counts = [_count(plan, state) for state in ("matches", "differs", "error")]
    lines.append(", ".join(count for count in counts if count) + ".")
    return "\n".join(lines)


def render_status_json(plan: Plan, observed: ObservedState) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "environment": plan.environment,
        "apps": [_app_document(app, observed.apps.get(app.app)) for app in plan.apps],
        "unmanaged": list(plan.unmanaged),
        "not_selected": list(plan.not_selected),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _app_lines(app: AppPlan, live: ObservedApp | None, *, verbose: bool) -> list[str]:
    lines = [f"{app.app}: {_verdict(app)}"]
    if live is None:
        lines.append("    not created yet")
    else:
        lines.append(f"    live build: {_live_build(live)}")
        hosts = [f"{h.name} ({_HOST_STATUS.get(h.status, h.status)})" for h in live.hosts]
        lines.append(f"    hostnames: {', '.join(hosts) or 'none'}")
        for waiting in waiting_hosts([live]) if verbose else ():
            lines.append(f"    DNS records to publish for {waiting.host}:")
            lines += record_lines(waiting)
    lines += [f"    note: {note}" for note in app.notes]
    return [*(one_line(line) for line in lines), ""]  # hostnames and ids come from the API


def _verdict(app: AppPlan) -> str:
    match app_state(app):
        case "error":
            return f"error: {app.error}"
        case "matches":
            return "matches the manifest"
        case "differs":
            parts = []
            labels = change_labels(app)
            if labels:
                noun = "change" if len(labels) == 1 else "changes"
                parts.append(f"{len(labels)} {noun}: {', '.join(labels)}")
            held = [label for h in app.held if (label := _label(h.action))]
            if held:
                parts.append(f"held back: {', '.join(held)}")
            return f"differs ({'; '.join(parts)})"


def _live_build(live: ObservedApp) -> str:
    if live.active_build_id is None:
        return "none yet"
    entry = live.ledger.get(live.active_build_id)
    if entry is None:
        return f"{live.active_build_id} ({UNKNOWN})"
    recorded = format_ms(entry.recorded_at_ms)
    return f"{live.active_build_id} (content {short(entry.digest)}, recorded {recorded})"


def _app_document(app: AppPlan, live: ObservedApp | None) -> dict[str, Any]:
    return {
        "app": app.app,
        "exists": live is not None,
        "app_id": live.app_id if live else None,
        "live_build": live.active_build_id if live else None,
        "live_build_ledger": ledger_document(live.ledger.get(live.active_build_id))
        if live
        else None,
        "hosts": [{"name": h.name, "status": h.status} for h in live.hosts] if live else [],
        "state": app_state(app),
        "changes": change_labels(app),
        "held": [label for h in app.held if (label := _label(h.action))],
        "notes": list(app.notes),
        "error": app.error,
    }


def _count(plan: Plan, state: State) -> str:
    n = sum(1 for app in plan.apps if app_state(app) == state)
    if not n:
        return ""
    words = {"matches": ("app matches", "apps match"), "differs": ("app differs", "apps differ")}
    one, many = words.get(state, ("app with an error", "apps with errors"))
    return f"{n} {one if n == 1 else many}"


def _label(action: Action) -> str:
    match action:
        case CreateApp():
            return "create app"
        case SetEnv():
            return f"env {action.key}"
        case DeleteEnv():
            return f"delete env {action.key}"
        case Deploy():
            return "upload build"
        case Activate(reason="matches_existing"):
            return f"make build {action.build_id} live again (it holds the build dir)"
        case Activate():
            return activate_words(action)
        case RecordLedger():
            return ""
        case AttachHost():
            return f"attach {action.host}"
        case FinalizeHost():
            return f"finalize {action.host}"
        case DetachHost():
            return f"detach {action.host}"
        case DeleteApp():
            return "delete app"
        case _:
            assert_never(action)
