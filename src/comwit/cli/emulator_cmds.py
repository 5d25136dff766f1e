"""`comwit emulator ...`: run and administer the local emulator of the Comwit API.

The web server parts are imported only when `serve` runs, so `comwit --help` (and
`comwit emulator token`) work without the optional `emulator` extra.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from comwit.cli.app import FullHelpGroup, help_without_command, typer_app
from comwit.cli.settings import Settings, command
from comwit.emulator import require_extra
from comwit.emulator.settings import (
    DEFAULT_MAX_ARTIFACT_BYTES,
    LISTING_DISABLED_STATUSES,
    Assumptions,
    parse_assumption,
)
from comwit.emulator.settings import Settings as EmulatorSettings
from comwit.emulator.store import PROJECT_NAME, PROJECT_RULE, SCOPES, Store
from comwit.errors import ComwitError
from comwit.escape import quoted
from comwit.exit_codes import EXIT_OK

DEFAULT_DATA = Path(".comwit/emulator")
DEFAULT_PROJECT = "demo"

DataDir = Annotated[
    Path, typer.Option("--data", help="Where the emulator keeps its state.", file_okay=False)
]
Projects = Annotated[
    list[str] | None,
    typer.Option("--project", help="Project the token's user is a member of (repeatable)."),
]


@command()
def serve(
    settings: Settings,
    data: DataDir = DEFAULT_DATA,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8787,
    auto_dns: Annotated[
        bool,
        typer.Option(
            "--auto-dns", help="Treat DNS records and project domain delegations as done."
        ),
    ] = False,
    max_artifact_bytes: Annotated[
        int, typer.Option(help="Refuse larger uploads (400).", min=1)
    ] = DEFAULT_MAX_ARTIFACT_BYTES,
    project: Annotated[
        str, typer.Option(help="Project of the token printed at start.")
    ] = DEFAULT_PROJECT,
    project_listing: Annotated[
        str,
        typer.Option(
            metavar="<on|404|501>",
            help="404 or 501: GET /v1/projects answers that (not enabled).",
            autocompletion=lambda: ["on", *map(str, LISTING_DISABLED_STATUSES)],
        ),
    ] = "on",
    no_managed_dns: Annotated[
        bool,
        typer.Option("--no-managed-dns", help="Project domains and managed hostnames answer 501."),
    ] = False,
    assume: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ASSUMPTION",
            help="NAME=VALUE: play an assumption of comwit.api.assumed differently (repeatable).",
        ),
    ] = None,
) -> int:
    """Serve the emulator over HTTP until Ctrl-C; print its URL and an all-scopes token.

    Ctrl-C and SIGTERM stop it cleanly: exit 0.
    """
    require_extra()
    from comwit.emulator.server import is_loopback, serve_in_thread

    behaviour = _settings(
        auto_dns, max_artifact_bytes, project_listing, not no_managed_dns, assume or []
    )
    console = settings.console
    _check_projects([project])  # before anything is served
    if not is_loopback(host):
        console.warn(f"listening on {host}: this test server is reachable from the network")
    with serve_in_thread(
        data, host=host, port=port, access_log=True, settings=behaviour
    ) as running:
        token = _issue(running.store, SCOPES, [project])
        console.print(f"Comwit emulator (a local test server, not Comwit Cloud) at {running.url}")
        for name, value in behaviour.assumptions.changed().items():
            console.warn(f"playing {name} as {quoted(value)}, not as comwit assumes it")
        console.print(f"state in {data}; admin routes under {running.url}/_emulator/")
        console.print(f"export COMWIT_API_URL={running.url}")
        console.print(f"export COMWIT_PROJECT={project}")
        console.print(f"export COMWIT_TOKEN={token}")
        console.info("Press Ctrl-C to stop.")
        _wait_for_stop()
        console.info("Stopping the emulator.")
    console.info("Stopped.")
    return EXIT_OK


def _wait_for_stop() -> None:
    """Until Ctrl-C or SIGTERM: both are how a server is asked to stop, not errors."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: stop.set())
    try:
        while not stop.wait(0.5):  # a timeout, so Ctrl-C is seen at once on every platform
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _settings(
    auto_dns: bool, max_bytes: int, listing: str, managed_dns: bool, assume: list[str]
) -> EmulatorSettings:
    statuses = {str(s): s for s in LISTING_DISABLED_STATUSES}
    if listing != "on" and listing not in statuses:
        raise ComwitError(f"--project-listing {quoted(listing)}: use on, 404 or 501")
    assumptions = Assumptions()
    for text in assume:
        try:
            assumptions = parse_assumption(text, assumptions)
        except ValueError as exc:
            raise ComwitError(f"--assume {exc}") from None
    return EmulatorSettings(
        auto_dns=auto_dns,
        max_artifact_bytes=max_bytes,
        project_listing=statuses.get(listing),
        managed_dns=managed_dns,
        assumptions=assumptions,
    )


@command()
def token(
    settings: Settings,
    data: DataDir = DEFAULT_DATA,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes.", show_default=True)
    ] = ",".join(SCOPES),
    project: Projects = None,
) -> int:
    """Print a new emulator token with these scopes, a member of these projects."""
    _check_projects(project or [])  # before the state dir is made
    store = Store(data)
    try:
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        settings.console.print(_issue(store, wanted, project or [DEFAULT_PROJECT]))
    finally:
        store.close()
    return EXIT_OK


@command()
def domain(
    settings: Settings,
    domain: Annotated[str, typer.Argument(help="The zone, e.g. example.com.")],
    data: DataDir = DEFAULT_DATA,
    project: Annotated[
        str, typer.Option(metavar="ID", help="The project that manages it.")
    ] = DEFAULT_PROJECT,
) -> int:
    """Give a project a delegated project domain, for dns = "managed" hostnames under it."""
    from comwit.emulator.hostnames import normalize_hostname
    from comwit.emulator.problems import ApiProblem
    from comwit.emulator.project_domains import seed

    _check_projects([project])
    store = Store(data)
    try:
        seeded = seed(store, project, normalize_hostname(domain)).domain
    except ApiProblem as exc:
        raise ComwitError(f"cannot add the project domain {quoted(domain)}: {exc.detail}") from None
    finally:
        store.close()
    settings.console.print(f"{seeded.domain}: {seeded.status} (project {seeded.project_id})")
    return EXIT_OK


def _group(ctx: typer.Context) -> None:
    """The local emulator of the Comwit API (for development, tests and demos)."""
    help_without_command(ctx)


def _check_projects(projects: list[str]) -> None:
    for project in projects:
        if not PROJECT_NAME.fullmatch(project):
            raise ComwitError(f"--project {quoted(project)}: a project id is {PROJECT_RULE}")


def _issue(store: Store, scopes: list[str] | tuple[str, ...], projects: list[str]) -> str:
    try:
        return store.issue_token(scopes, projects)
    except ValueError as exc:
        raise ComwitError(f"cannot issue an emulator token: {exc}") from exc


emulator = typer_app(cls=FullHelpGroup)
emulator.callback(invoke_without_command=True)(_group)
emulator.command()(serve)
emulator.command()(token)
emulator.command()(domain)
