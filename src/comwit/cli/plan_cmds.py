"""`comwit plan`: show what apply would change, as text, Markdown or JSON; save it with --out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING, Annotated

import typer

from comwit.cli.ci_options import (
    CiChoice,
    Comment,
    CommentOn,
    CommentWhen,
    NoSummary,
    after_plan,
    noting_failure,
)
from comwit.cli.session import (
    Target,
    api_identity,
    connect,
    ledger_store,
    load_target,
    plan_request,
    plan_target,
)
from comwit.cli.settings import (
    APPS,
    CONCURRENCY,
    PLAN_FORMAT,
    TARGET,
    VERBOSITY,
    OutputFormat,
    Settings,
    command,
    refuse_manifest_as_output,
)
from comwit.console import Console
from comwit.errors import ComwitError
from comwit.exit_codes import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from comwit.manifest import DEFAULT_FILE
from comwit.manifest.load import display_name
from comwit.plan.actions import Plan, changes_beyond_dns, dns_waits
from comwit.render.text import render_text

if TYPE_CHECKING:  # shards are split only for --shards / --shard-size
    from comwit.plan.shards import Shard
    from comwit.planner import Planned, PlanRequest

AllowOlder = Annotated[
    bool,
    typer.Option(
        "--allow-older",
        help="Let a commit older than the one a live build comes from replace it.",
    ),
]
AllowDetach = Annotated[
    list[str] | None,
    typer.Option("--allow-detach", help="Let this hostname (glob) be detached (repeatable)."),
]
Shards = Annotated[
    int | None,
    typer.Option(
        "--shards",
        min=1,
        max=256,
        help="Split the changed apps into N shards of about equal bytes to upload, for a CI "
        "job matrix (`apply PLANFILE --shard I/N`).",
    ),
]
ShardSize = Annotated[
    int | None,
    typer.Option(
        "--shard-size", min=1, help="Split the changed apps into shards of at most K apps."
    ),
]
AllowDeleteEnv = Annotated[
    list[str] | None,
    typer.Option("--allow-delete-env", help="Let this env key (glob) be deleted (repeatable)."),
]


@command(TARGET, APPS, PLAN_FORMAT, CONCURRENCY, VERBOSITY)
@noting_failure("plan")
def plan(
    settings: Settings,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Save the plan for `comwit apply FILE`.")
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    allow_detach: AllowDetach = None,
    allow_delete_env: AllowDeleteEnv = None,
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
    allow_older: AllowOlder = False,
    shards: Shards = None,
    shard_size: ShardSize = None,
) -> int:
    """Show what `apply` would change. Read-only: needs project:read and app:read."""
    _check_shard_options(settings, shards, shard_size)
    target = load_target(settings)
    if out is not None:
        refuse_manifest_as_output(out, target.loaded.path, "save the plan to")
        refuse_inside_a_build_dir(out, target, f"cannot save the plan to {out}")
    console = settings.console
    request = plan_request(
        settings,
        target,
        allow_detach=allow_detach,
        allow_delete_env=allow_delete_env,
        allow_older=allow_older,
    )
    choice = CiChoice(comment, comment_on, no_summary)
    made = asyncio.run(
        _plan(settings, target, request, out, choice, shards=shards, shard_size=shard_size)
    )
    waiting = dns_waits(made)
    if detailed_exitcode and waiting and not changes_beyond_dns(made) and not made.has_errors:
        console.info(
            f"Only waiting for DNS records: {', '.join(waiting)}; exit code 0 "
            "(`comwit dns` shows the records to publish; the next apply finalizes them)."
        )
    return plan_exit_code(made, detailed=detailed_exitcode)


async def _plan(
    settings: Settings,
    target: Target,
    request: PlanRequest,
    out: Path | None,
    choice: CiChoice,
    *,
    shards: int | None,
    shard_size: int | None,
) -> Plan:
    """Make the plan and show it (or its shards' matrix); save it to `out` unless it has
    errors; write it to the CI's channels."""
    console = settings.console
    async with connect(settings, target) as connection:
        store = ledger_store(target, connection)
        planned = await plan_target(settings, target, connection, request, store)
        manifest = display_name(settings.manifest)
        split = _split(planned.plan, shards, shard_size)
        if settings.output_format is OutputFormat.matrix:
            console.print(_matrix_json(split))
        else:
            show_plan(planned.plan, settings.output_format, console, manifest=manifest)
        saved_to = out if out is not None and not planned.plan.has_errors else None
        if out is not None and saved_to is None:
            console.warn(f"not saving the plan to {out}: fix the errors above first")
        elif saved_to is not None:
            _save(
                saved_to,
                planned,
                target,
                request,
                manifest=manifest,
                api_url=api_identity(connection),
                split=split,
                shards=shards,
            )
            console.info(f"Saved the plan to {out}; apply it with `comwit apply {out}`.")
        outputs = {"matrix": _matrix_json(split)} if split is not None else None
        after_plan(settings, planned.plan, plan_path=saved_to, choice=choice, outputs=outputs)
    return planned.plan


def refuse_inside_a_build_dir(out: Path, target: Target, said: str) -> None:
    """ComwitError (`said`, then why) when the file comwit writes at `out` (a saved plan, a
    result) lies where an app's build dir walk would take it in: it would change the tree
    (and may overwrite a file of the build), so the next plan deploys it, or apply refuses a
    saved plan."""
    from comwit.manifest.checks import build_dir_taking

    name = build_dir_taking(target.loaded, out)
    if name is not None:
        raise ComwitError(
            f"{said}: it is inside the build dir of app {name} "
            f"({target.loaded.apps[name].build_dir}); write it elsewhere"
        )


def _save(
    out: Path,
    planned: Planned,
    target: Target,
    request: PlanRequest,
    *,
    manifest: str,
    api_url: str,
    split: tuple[Shard, ...] | None,
    shards: int | None,
) -> None:
    """`--out FILE`: the plan and what `apply FILE` checks first (see comwit.store.saved),
    and with --shards N / --shard-size K each shard's apps."""
    from comwit.store.saved import ManifestRef, SavedPolicy, saved_plan, write_plan

    ref = ManifestRef(path=manifest, digest=target.loaded.digest, environment=target.loaded.env)
    policy = request.policy
    saved = saved_plan(
        planned,
        api_url=api_url,
        manifest=ref,
        salt=token_hex(16),
        policy=SavedPolicy(
            allow_detach=policy.allow_detach, allow_delete_env=policy.allow_delete_env
        ),
    )
    if split is not None:
        apps = tuple(s.apps for s in split)
        saved = saved.model_copy(update={"shards": apps, "shard_count": shards or len(apps)})
    write_plan(out, saved)


def _check_shard_options(settings: Settings, shards: int | None, size: int | None) -> None:
    if shards is not None and size is not None:
        raise ComwitError("give --shards N or --shard-size K, not both")
    if settings.output_format is OutputFormat.matrix and shards is None and size is None:
        raise ComwitError("--format matrix prints the shards: give --shards N or --shard-size K")


def _split(plan: Plan, shards: int | None, size: int | None) -> tuple[Shard, ...] | None:
    if shards is None and size is None:
        return None
    from comwit.plan.shards import split

    return split(plan, shards=shards, size=size)


def _matrix_json(shards: tuple[Shard, ...] | None) -> str:
    from comwit.plan.shards import matrix

    return json.dumps(matrix(shards or ()), separators=(",", ":"))


def show_plan(
    plan: Plan, output_format: OutputFormat, console: Console, *, manifest: str = DEFAULT_FILE
) -> None:
    match output_format:
        case OutputFormat.json:  # each renderer is imported when it is used: start-up time
            from comwit.render.jsonplan import render_json

            console.print(render_json(plan))
        case OutputFormat.markdown:
            from comwit.render.markdown import render_markdown

            console.print(render_markdown(plan, manifest=manifest))
        case OutputFormat.text:
            console.print(render_text(plan, paint=console.style, verbose=console.verbosity > 0))


def plan_exit_code(plan: Plan, *, detailed: bool) -> int:
    """1 on errors; with --detailed-exitcode, 2 when something would change (hostnames that
    only wait for their DNS records do not count: no apply can move them on)."""
    if plan.has_errors:
        return EXIT_ERROR
    return EXIT_CHANGES if detailed and changes_beyond_dns(plan) else EXIT_OK
