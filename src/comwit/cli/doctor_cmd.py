"""`comwit doctor`: check the API in use offers what comwit relies on. Read-only, quick."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from comwit.api.client import ComwitClient
from comwit.api.connect import emulator_dir, open_client
from comwit.api.credentials import LOCAL, load_token, resolve_api_url
from comwit.api.limits import Deadlines
from comwit.api.retry import NO_RETRY
from comwit.cli.settings import FORMAT, TARGET, VERBOSITY, OutputFormat, Settings, command
from comwit.doctor.findings import Finding, failed
from comwit.doctor.probes import Target, diagnose
from comwit.errors import CredentialsError, ManifestError
from comwit.exit_codes import EXIT_ERROR, EXIT_OK
from comwit.manifest import LoadedManifest, load_manifest
from comwit.secret import Secret

# Each request may take this long, all told, and none is repeated: a doctor answers quickly.
REQUEST_SECONDS: Final = 5.0


@command(TARGET, FORMAT, VERBOSITY)
def doctor(settings: Settings) -> int:
    """Check that the API in use offers what comwit relies on (read-only, a few seconds)."""
    loaded = _manifest(settings)
    project = settings.chosen_project(loaded.project if loaded else None)
    managed = loaded is not None and any(
        host.dns == "managed" for app in loaded.apps.values() for host in app.hosts
    )
    findings = asyncio.run(_run(settings, project, managed, loaded))
    if settings.output_format == OutputFormat.json:
        settings.console.print(_json(findings))
    else:
        for finding in findings:
            settings.console.print(finding.line())
    return EXIT_ERROR if failed(findings) else EXIT_OK


async def _run(
    settings: Settings, project: str | None, managed: bool, loaded: LoadedManifest | None
) -> list[Finding]:
    async with _client(settings, project, loaded) as (client, has_token):
        return await diagnose(client, Target(project, token=has_token, managed_hosts=managed))


@asynccontextmanager
async def _client(
    settings: Settings, project: str | None, loaded: LoadedManifest | None
) -> AsyncIterator[tuple[ComwitClient, bool]]:
    """A client that gives up quickly; without a token, one for the routes that need none."""
    environ = settings.environ
    url = resolve_api_url(settings.api_url, environ)
    if url == LOCAL:
        if loaded is None:
            raise CredentialsError("--api-url local needs a manifest (its .comwit/emulator state)")
        async with open_client(
            url,
            environ=environ,
            local_data_dir=emulator_dir(loaded.root),
            project=project,
            sleep=settings.sleep,
        ) as connection:
            if connection.notice:
                settings.console.notice(connection.notice)
            yield connection.client, True
        return
    try:
        token, has_token = load_token(environ), True
    except CredentialsError:
        token, has_token = Secret(""), False
    client = ComwitClient(
        url,
        token,
        transport=settings.transport,
        retry=NO_RETRY,
        timeout=REQUEST_SECONDS,
        deadlines=Deadlines(request=REQUEST_SECONDS),
        sleep=settings.sleep,  # none is repeated today: a wait, if one comes, is the run's
    )
    async with client:
        yield client, has_token


def _manifest(settings: Settings) -> LoadedManifest | None:
    """The manifest when there is one (for the project and its hostnames): none found is
    fine, but one found must load, with the --env given (a broken one, or a misspelled
    environment, would pass the doctor on a project it never checked)."""
    try:
        path = settings.manifest
    except ManifestError:
        if settings.env is not None:  # --env names an environment of a manifest not there
            raise
        return None
    return load_manifest(path, env=settings.env)


def _json(findings: list[Finding]) -> str:
    checks = [
        {"check": f.check, "state": f.state, "detail": f.detail, "needed": f.needed}
        for f in findings
    ]
    return json.dumps({"ok": not failed(findings), "checks": checks}, indent=2)
