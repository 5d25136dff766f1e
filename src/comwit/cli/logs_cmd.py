"""`comwit logs APP`: the app's log, oldest line first; `--follow` keeps showing new lines."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from comwit.api.models import DEFAULT_TAIL, LogQuery
from comwit.cli.session import Target, connect, load_target, not_created, require_app
from comwit.cli.settings import FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_OK
from comwit.logs import follow_logs, read_logs
from comwit.render.logs import log_json, log_text, logs_json

DEFAULT_FOLLOW_SECONDS = 600


@command(TARGET, FORMAT, VERBOSITY)
def logs(
    settings: Settings,
    app: Annotated[str, typer.Argument(help="The app, as named in the manifest.")],
    tail: Annotated[
        int,
        typer.Option(metavar="N", min=1, max=10_000, help="At most this many lines, the newest."),
    ] = DEFAULT_TAIL,
    since: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Only lines since: RFC 3339, or a duration like 30m."),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(metavar="LEVEL", help="Only this level and above: debug, info, warn, error."),
    ] = None,
    build: Annotated[
        str | None, typer.Option(metavar="ID", help="Only lines of this build id.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep showing new lines (every 2 s) until Ctrl-C.")
    ] = False,
    follow_for: Annotated[
        int | None,
        typer.Option(
            "--for",
            metavar="SECONDS",
            min=1,
            help=f"With --follow: stop after this long (default {DEFAULT_FOLLOW_SECONDS}).",
        ),
    ] = None,
) -> int:
    """Show APP's log, oldest line first; --follow keeps showing new lines for a while.

    `--format json` prints one document; with `--follow`, one JSON object per line."""
    if follow_for is not None and not follow:
        raise ComwitError("--for says how long to follow: pass --follow with it")
    target = load_target(settings)
    require_app(target, app)
    query = LogQuery(tail=tail, since=since, level=level, build_id=build)
    if not follow:
        asyncio.run(_show(settings, target, app, query, None))
        return EXIT_OK
    try:
        asyncio.run(_show(settings, target, app, query, follow_for or DEFAULT_FOLLOW_SECONDS))
    except KeyboardInterrupt:  # the usual way to stop following: not an error
        settings.console.info("stopped following")
        return EXIT_OK
    settings.console.info(f"stopped following after {follow_for} s (--for)")
    return EXIT_OK


async def _show(
    settings: Settings, target: Target, app: str, query: LogQuery, follow_for: int | None
) -> None:
    as_json = settings.output_format == OutputFormat.json
    render = log_json if as_json else log_text
    async with connect(settings, target) as connection:
        client = connection.client
        found = next((a for a in await client.list_apps(target.project) if a.name == app), None)
        if found is None:
            raise not_created(target, app)
        if follow_for is None:
            lines = await read_logs(client, target.project, found.app_id, query)
            if as_json:
                settings.console.print(logs_json(target.project, app, lines))
            for line in [] if as_json else lines:
                settings.console.print(render(line))
            return
        await follow_logs(
            client,
            target.project,
            found.app_id,
            query,
            lambda line: settings.console.print(render(line)),
            seconds=follow_for,
            sleep=settings.sleep,
            clock=settings.clock,
        )
