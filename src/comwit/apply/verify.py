"""Before a saved plan touches an app: does what the plan read still hold?

Checked just before the app's first mutation: the app's existence and id, its live build,
its hostnames and their status, and its env keys and values (by fingerprint). Values that
come from ${VAR} are checked before (see `stale`). Any difference makes the plan stale for
that app: it is skipped.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from comwit.api.client import ComwitClient
from comwit.errors import NotFoundError, StalePlanError
from comwit.plan.actions import AppPlan
from comwit.plan.ledger import LEDGER_ENV_KEY
from comwit.plan.state import ObservedApp, ObservedBuild, ObservedHost
from comwit.store.ledger import LedgerStore
from comwit.store.saved import env_text, fingerprint


async def verify_app(
    client: ComwitClient,
    store: LedgerStore,
    project: str,
    app: AppPlan,
    live_env: str | None,
    salt: str,
) -> ObservedApp | None:
    """The app's state as the plan saw it (None: it did not exist), or StalePlanError
    saying what changed.

    `live_env` is the fingerprint of the app's env values when planned (None: it had none).
    """
    pre = app.preconditions
    if not pre.exists:
        if any(a.name == app.app for a in await client.list_apps(project)):
            raise StalePlanError(f"app {app.app!r} was created after the plan was made; plan again")
        return None
    assert pre.app_id is not None
    try:
        live = await client.get_app(project, pre.app_id)
    except NotFoundError:
        raise StalePlanError(
            f"app {app.app!r} was deleted after the plan was made; plan again"
        ) from None
    builds, domains, env = await asyncio.gather(
        client.list_builds(project, pre.app_id),
        client.list_domains(project, pre.app_id),
        client.list_env(project, pre.app_id),
    )
    if live.active_build_id != pre.active_build_id:
        raise StalePlanError(
            f"the live build changed from {pre.active_build_id} to {live.active_build_id} "
            "after the plan was made; plan again"
        )
    if tuple(sorted((d.domain, d.status) for d in domains)) != pre.hosts:
        raise StalePlanError("its hostnames changed after the plan was made; plan again")
    current = {v.key: v.value for v in env if v.key != LEDGER_ENV_KEY}
    if tuple(sorted(current)) != pre.env_keys or (
        current and fingerprint(env_text(current), salt) != live_env
    ):
        raise StalePlanError("its env vars changed after the plan was made; plan again")
    observed = ObservedApp(
        name=app.app,
        app_id=pre.app_id,
        active_build_id=live.active_build_id,
        builds=tuple(ObservedBuild(b.build_id, b.created_at, b.artifact_size) for b in builds),
        hosts=tuple(ObservedHost(d.domain, d.status) for d in domains),
        env=current,
    )
    ledger_value = next((v.value for v in env if v.key == LEDGER_ENV_KEY), None)
    ledger, _ = store.read(observed, ledger_value)
    return replace(observed, ledger=ledger)
