"""`comwit unlock APP`: remove an app's apply lease, left by a run that is gone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from comwit.apply.lease import unlock as without_lease
from comwit.cli.session import (
    Target,
    connect,
    ledger_store,
    load_target,
    observe_one,
    require_app,
)
from comwit.cli.settings import TARGET, VERBOSITY, Settings, command
from comwit.exit_codes import EXIT_OK


@command(TARGET, VERBOSITY)
def unlock(
    settings: Settings,
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
) -> int:
    """Remove APP's apply lease, left by a run that is gone (a live run loses its guard)."""
    target = load_target(settings)
    require_app(target, app)
    asyncio.run(_unlock(settings, target, app))
    return EXIT_OK


async def _unlock(settings: Settings, target: Target, app: str) -> None:
    console = settings.console
    async with connect(settings, target) as connection:
        observation = await observe_one(settings, target, connection, app)
        app_id = observation.state.apps[app].app_id
        store = ledger_store(target, connection)
        lease = (await store.load(app, app_id)).lease
        if lease is None:
            console.info(f"App {app!r} has no apply lease: nothing to do.")
            return
        await store.update(app, app_id, without_lease)
        until = datetime.fromtimestamp(lease.expires_ms / 1000, UTC).strftime("%H:%M:%S UTC")
        console.info(
            f"Removed the apply lease of app {app!r} held by {lease.holder} ({lease.run}), "
            f"which ran until {until}."
        )
