"""`comwit dns [APP]`: the DNS records to publish for every hostname that waits for them."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.cli.session import connect, ledger_store, load_target, require_app
from comwit.cli.settings import FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.exit_codes import EXIT_OK
from comwit.observe import observe
from comwit.render.dns import WaitingHost, render_dns_json, render_dns_text, waiting_hosts


@command(TARGET, FORMAT, VERBOSITY)
def dns(
    settings: Settings,
    app: Annotated[
        str | None, typer.Argument(help="Only this app of the manifest.", show_default=False)
    ] = None,
) -> int:
    """Show the DNS records to publish for each hostname waiting for them. Read-only.

    Exit 0 whether or not a hostname waits; `comwit apply` finalizes those whose records
    are published.
    """
    target = load_target(settings)
    if app is not None:
        require_app(target, app)
    names = [app] if app is not None else list(target.loaded.apps)

    async def run() -> list[WaitingHost]:
        async with connect(settings, target) as connection:
            store = ledger_store(target, connection)
            observation = await observe(connection.client, target.project, names, store)
        for warning in observation.warnings:
            settings.console.warn(warning)
        return waiting_hosts(observation.state.apps.values())

    waiting = asyncio.run(run())
    match settings.output_format:
        case OutputFormat.json:
            settings.console.print(render_dns_json(target.project, waiting))
        case _:
            settings.console.print(render_dns_text(target.project, waiting))
    return EXIT_OK
