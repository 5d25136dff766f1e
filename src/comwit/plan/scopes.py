"""Which scopes applying a plan needs, and for what. Pure."""

from __future__ import annotations

from typing import assert_never

from comwit.plan.actions import (
    Action,
    Activate,
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

DEPLOY = "app:deploy"
WRITE = "app:write"


def needed_scopes(plan: Plan) -> dict[str, list[str]]:
    """scope -> what of the plan needs it ("upload build (web)"), in plan order. The ledger's
    own writes are left out: without app:write they are a warning, not a failure."""
    needs: dict[str, list[str]] = {}
    for app in plan.apps:
        for action in app.actions:
            scope, what = _need(action)
            if scope is not None:
                needs.setdefault(scope, []).append(f"{what} ({app.app})")
    return needs


def _need(action: Action) -> tuple[str | None, str]:
    match action:
        case Deploy():
            return DEPLOY, "upload build"
        case Activate():
            return DEPLOY, "roll back"
        case CreateApp():
            return WRITE, "create app"
        case SetEnv(key=key):
            return WRITE, f"set env {key}"
        case DeleteEnv(key=key):
            return WRITE, f"delete env {key}"
        case AttachHost(host=host):
            return WRITE, f"attach {host}"
        case FinalizeHost(host=host):
            return WRITE, f"finalize {host}"
        case DetachHost(host=host):
            return WRITE, f"detach {host}"
        case RecordLedger():
            return None, ""
        case DeleteApp():
            return WRITE, "delete app"
        case _:
            assert_never(action)
