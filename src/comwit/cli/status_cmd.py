"""`comwit status`: each managed app's live build and hostnames, and whether it matches."""

from __future__ import annotations

import asyncio

import typer

from comwit.cli.options import (
    DEFAULT_MANIFEST,
    ApiUrl,
    Apps,
    Environment,
    ExcludeApps,
    ManifestFile,
    OutputFormat,
    Project,
    Quiet,
    TextOrJson,
    Verbose,
)
from comwit.cli.session import connect, load_target, plan_request, plan_target
from comwit.console import make_console
from comwit.planner import Planned
from comwit.render.status import render_status_json, render_status_text


def status(
    manifest: ManifestFile = DEFAULT_MANIFEST,
    env: Environment = None,
    project: Project = None,
    api_url: ApiUrl = None,
    app: Apps = None,
    exclude_app: ExcludeApps = None,
    output_format: OutputFormat = TextOrJson.text,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> int:
    """Show each app's live build and hostnames, and whether it matches the manifest.

    Informational: exit 0 even when apps differ; 1 when an app cannot be planned.
    """
    console = make_console(quiet=quiet, verbose=verbose)
    target = load_target(manifest, env, project)

    async def run() -> Planned:
        async with connect(target, api_url, console) as connection:
            request = plan_request(target, include=app, exclude=exclude_app)
            return await plan_target(target, connection, request, console)

    planned = asyncio.run(run())
    match output_format:
        case TextOrJson.json:
            console.print(render_status_json(planned.plan, planned.observed))
        case TextOrJson.text:
            console.print(render_status_text(planned.plan, planned.observed))
    return 1 if planned.plan.has_errors else 0


def register(app: typer.Typer) -> None:
    app.command()(status)
