"""Before a saved plan changes anything: does what the plan read still hold?

The apps of the plan are observed again, once, before the first mutation: each app's
existence and id, live build, hostnames and their status, env keys and values (by
fingerprint), builds, and what the ledger says they hold. Any difference makes the plan
stale for that app: it is skipped. Values from ${VAR} and build dirs are checked apart
(see `stale`).
"""

from __future__ import annotations

from collections.abc import Mapping

from comwit.plan.actions import AppPlan
from comwit.plan.diff import read_preconditions
from comwit.plan.state import ObservedApp, ObservedState
from comwit.store.saved import RecordedApp, SavedPlan, env_text, fingerprint, record_app


def changed_apps(saved: SavedPlan, observed: ObservedState) -> dict[str, str]:
    """Why each app of the plan that no longer matches what the plan read is stale."""
    reasons = {}
    for app in saved.plan.apps:
        reason = changed_since_plan(
            app,
            observed.apps.get(app.app),
            saved.observed.get(app.app),
            saved.live_env.get(app.app),
            saved.salt,
        )
        if reason:
            reasons[app.app] = f"{reason} after the plan was made; plan again"
    return reasons


def changed_since_plan(
    app: AppPlan,
    live: ObservedApp | None,
    recorded: RecordedApp | None,
    live_env: str | None,
    salt: str,
) -> str | None:
    """What changed in one app since the plan read it, or None. `live_env` is the
    fingerprint of its env values when planned (None: it had none)."""
    pre = app.preconditions
    if live is None:
        return "the app was deleted" if pre.exists else None
    if not pre.exists:
        return "the app was created"
    now = read_preconditions(live)
    if now.app_id != pre.app_id:
        return f"the app was replaced (id {pre.app_id} when planned, {now.app_id} now)"
    if now.active_build_id != pre.active_build_id:
        return f"the live build changed from {pre.active_build_id} to {now.active_build_id}"
    if now.hosts != pre.hosts:
        return "its hostnames changed"
    if now.env_keys != pre.env_keys or (live.env and _env_hash(live.env, salt) != live_env):
        return "its env vars changed"
    if record_app(live) != (recorded or RecordedApp()):
        return "its builds or its ledger changed"
    return None


def _env_hash(env: Mapping[str, str], salt: str) -> str:
    return fingerprint(env_text(env), salt)
