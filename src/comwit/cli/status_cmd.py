"""`comwit status`: each managed app's live build and hostnames, and whether it matches."""

from __future__ import annotations

import asyncio

from comwit.cli.session import connect, ledger_store, load_target, plan_request, plan_target
from comwit.cli.settings import APPS, FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.exit_codes import EXIT_ERROR, EXIT_OK
from comwit.planner import Planned
from comwit.render.status import render_status_json, render_status_text


@command(TARGET, APPS, FORMAT, VERBOSITY)
def status(settings: Settings) -> int:
    """Show each app's live build and hostnames, and whether it matches the manifest.

    Informational: exit 0 even when apps differ; 1 when an app cannot be planned.
    """
    target = load_target(settings)

    async def run() -> Planned:
        async with connect(settings, target) as connection:
            request = plan_request(settings, target)
            store = ledger_store(target, connection)
            return await plan_target(settings, target, connection, request, store)

    planned = asyncio.run(run())
    match settings.output_format:
        case OutputFormat.json:
            settings.console.print(render_status_json(planned.plan, planned.observed))
        case _:
            verbose = settings.console.verbosity > 0
            text = render_status_text(planned.plan, planned.observed, verbose=verbose)
            settings.console.print(text)
    return EXIT_ERROR if planned.plan.has_errors else EXIT_OK
