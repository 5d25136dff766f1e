"""`comwit plan`: show what apply would change, as text, Markdown or JSON; save it with --out."""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path
from secrets import token_hex
from typing import Annotated

import typer

from comwit.cli.options import (
    DEFAULT_MANIFEST,
    ApiUrl,
    Apps,
    Environment,
    ExcludeApps,
    ManifestFile,
    Project,
    Quiet,
    Verbose,
)
from comwit.cli.session import api_identity, connect, load_target, plan_request, plan_target
from comwit.console import Console, make_console
from comwit.manifest import DEFAULT_FILE
from comwit.manifest.load import display_name
from comwit.observe import DEFAULT_CONCURRENCY
from comwit.plan.actions import Plan
from comwit.render.jsonplan import render_json
from comwit.render.markdown import render_markdown
from comwit.render.text import render_text
from comwit.store.saved import ManifestRef, saved_plan, write_plan

EXIT_CHANGES = 2


class Format(enum.StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


AllowDetach = Annotated[
    list[str] | None,
    typer.Option("--allow-detach", help="Let this hostname (glob) be detached (repeatable)."),
]
AllowDeleteEnv = Annotated[
    list[str] | None,
    typer.Option("--allow-delete-env", help="Let this env key (glob) be deleted (repeatable)."),
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", min=1, max=64, help="API requests in flight at once.")
]


def plan(
    manifest: ManifestFile = DEFAULT_MANIFEST,
    env: Environment = None,
    project: Project = None,
    api_url: ApiUrl = None,
    app: Apps = None,
    exclude_app: ExcludeApps = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="text, markdown (PR comment) or json.")
    ] = Format.text,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Save the plan for `comwit apply FILE`.")
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    allow_detach: AllowDetach = None,
    allow_delete_env: AllowDeleteEnv = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> int:
    """Show what `apply` would change. Read-only: needs project:read and app:read."""
    console = make_console(quiet=quiet, verbose=verbose)
    target = load_target(manifest, env, project)

    async def run() -> int:
        async with connect(target, api_url, console) as connection:
            request = plan_request(
                target,
                include=app,
                exclude=exclude_app,
                allow_detach=allow_detach,
                allow_delete_env=allow_delete_env,
                concurrency=concurrency,
            )
            planned = await plan_target(target, connection, request, console)
            show_plan(planned.plan, output_format, console, manifest=display_name(manifest))
            if out is not None and planned.plan.has_errors:
                console.warn(f"not saving the plan to {out}: fix the errors above first")
            elif out is not None:
                ref = ManifestRef(
                    path=display_name(manifest),
                    digest=target.loaded.digest,
                    environment=target.loaded.env,
                )
                saved = saved_plan(
                    planned, api_url=api_identity(connection), manifest=ref, salt=token_hex(16)
                )
                write_plan(out, saved)
                console.info(f"Saved the plan to {out}; apply it with `comwit apply {out}`.")
        return plan_exit_code(planned.plan, detailed=detailed_exitcode)

    return asyncio.run(run())


def show_plan(
    plan: Plan, output_format: Format, console: Console, *, manifest: str = DEFAULT_FILE
) -> None:
    match output_format:
        case Format.json:
            console.print(render_json(plan))
        case Format.markdown:
            console.print(render_markdown(plan, manifest=manifest))
        case Format.text:
            console.print(render_text(plan, paint=console.style, verbose=console.verbosity > 0))


def plan_exit_code(plan: Plan, *, detailed: bool) -> int:
    if plan.has_errors:
        return 1
    return EXIT_CHANGES if detailed and plan.has_changes else 0


def register(app: typer.Typer) -> None:
    app.command()(plan)
