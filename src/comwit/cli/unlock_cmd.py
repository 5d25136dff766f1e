"""`comwit unlock APP`: remove an app's apply lease, left by a run that is gone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated

import typer

from comwit.apply.lease import unlock as without_lease
from comwit.cli.session import Target, load_target, observe_one, require_app
from comwit.cli.settings import TARGET, VERBOSITY, Settings, command
from comwit.escape import quoted
from comwit.exit_codes import EXIT_OK
from comwit.plan.ledger import AppLedger
from comwit.preview.names import MAX_PR, preview_name


@command(TARGET, VERBOSITY)
def unlock(
    settings: Settings,
    app: Annotated[
        str, typer.Argument(help="The app, as named in the manifest, or a preview app of one.")
    ],
) -> int:
    """Remove APP's apply lease, left by a run that is gone (a live run loses its guard)."""
    target = _naming(load_target(settings), app)
    require_app(target, app)
    asyncio.run(_unlock(settings, target, app))
    return EXIT_OK


def _naming(target: Target, app: str) -> Target:
    """The target, with a preview app (`{app}-pr-{N}` of a manifest app) as one of its apps:
    its lease lives in its ledger as any app's does."""
    if app in target.loaded.apps:
        return target
    _, _, number = app.rpartition("-pr-")
    pr = int(number) if number.isdigit() and len(number) <= len(str(MAX_PR)) else 0
    if not 0 < pr <= MAX_PR:
        return target
    for config in target.loaded.apps.values():
        if preview_name(config.name, pr) == app:
            return replace(
                target, loaded=replace(target.loaded, apps={app: replace(config, name=app)})
            )
    return target


async def _unlock(settings: Settings, target: Target, app: str) -> None:
    console = settings.console
    async with observe_one(settings, target, app, created=False) as one:
        observed = one.observation.state.apps.get(app)
        if observed is None:  # never created, or a preview already torn down
            console.info(
                f"App {quoted(app)} does not exist in project {target.project}: "
                "it has no apply lease to remove."
            )
            return
        lease = observed.ledger.lease  # the ledger as just read; the update reads it again
        if lease is None:
            # One a newer comwit wrote reads as empty, a lease of its runs unseen: loading it
            # to change says so (NewerLedgerError). A ledger with records has none.
            if observed.ledger == AppLedger():
                await one.store.load(app, observed.app_id)
            console.info(f"App {quoted(app)} has no apply lease: nothing to do.")
            return
        await one.store.update(app, observed.app_id, without_lease)
        console.info(
            f"Removed the apply lease of app {quoted(app)} held by {lease.holder} ({lease.run}), "
            f"which ran until {lease.until()}."
        )
