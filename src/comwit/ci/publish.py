"""After `plan` or `apply`: write the CI's channels (job summary, step outputs, the living
comment) from the plan and the apply result. Nothing here changes an exit code: a channel
that cannot be written is a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from comwit.ci.environment import CiContext
from comwit.ci.forge import ForgeError
from comwit.ci.workflow import Level, annotation, command, repository_path
from comwit.console import Console
from comwit.errors import Problem
from comwit.escape import cut, cut_path
from comwit.frozen import frozen

if TYPE_CHECKING:
    import httpx

    from comwit.apply.result import ApplyResult
    from comwit.plan.actions import Plan

CommentOn = Literal["changes", "always"]


@frozen
class Channels:
    """What the command line asked of the CI's channels."""

    comment: bool = False
    comment_on: CommentOn = "changes"
    summary: bool = True


def publish_plan(
    ctx: CiContext,
    plan: Plan,
    *,
    manifest: str,
    plan_path: str | None,
    channels: Channels,
    console: Console,
    transport: httpx.BaseTransport | None = None,
    outputs: Mapping[str, str] | None = None,
) -> None:
    """Job summary, outputs (plus `outputs`: the shard matrix) and comment for a plan."""
    from comwit.ci.outputs import plan_outputs
    from comwit.render.markdown import render_markdown

    def render(budget: int, full_plan: str, footer: str) -> str:
        return render_markdown(
            plan,
            manifest=manifest,
            budget=budget,
            commit=ctx.sha,
            full_plan=full_plan,
            footer=footer,
        )

    _publish(
        ctx,
        plan,
        render,
        plan_outputs(plan, plan_path) | dict(outputs or {}),
        changed=plan.has_changes or plan.has_errors,
        manifest=manifest,
        channels=channels,
        console=console,
        transport=transport,
    )


def publish_apply(
    ctx: CiContext,
    plan: Plan,
    result: ApplyResult | None,
    *,
    manifest: str,
    urls: Mapping[str, str],
    channels: Channels,
    console: Console,
    transport: httpx.BaseTransport | None = None,
    outputs: Mapping[str, str] | None = None,
    previews: str = "",
) -> None:
    """Job summary, outputs and comment for an apply: the comment moves to "applied".
    `outputs`: more step outputs (a preview's `preview-urls`)."""
    from comwit.ci.outputs import apply_outputs, plan_outputs
    from comwit.render.applied import render_applied

    def render(budget: int, full_plan: str, footer: str) -> str:
        return render_applied(
            plan,
            result,
            manifest=manifest,
            commit=ctx.sha,
            urls=urls,
            budget=budget,
            full_plan=full_plan,
            previews=previews,
            footer=footer,
        )

    acted = result is not None and any(o.status != "unchanged" for o in result.outcomes)
    _publish(
        ctx,
        plan,
        render,
        plan_outputs(plan) | apply_outputs(result, urls) | dict(outputs or {}),
        changed=acted,
        manifest=manifest,
        channels=channels,
        console=console,
        transport=transport,
    )


ANNOTATIONS_PER_STEP = 10
"""Annotations of one level GitHub shows for a step; it drops the rest without a word."""


def annotate(ctx: CiContext, problems: list[Problem], level: Level, stream: TextIO) -> None:
    """In GitHub Actions, one `::error file=…,line=…,col=…::` line per manifest problem; past
    what GitHub shows of a step, the last one it shows says how many more the log holds."""
    if not ctx.github:
        return
    shown = problems
    if len(problems) > ANNOTATIONS_PER_STEP:
        shown = problems[: ANNOTATIONS_PER_STEP - 1]
    for problem in shown:
        stream.write(annotation(problem, level, ctx.workspace) + "\n")
    if rest := len(problems) - len(shown):
        what = {"error": "problems", "warning": "warnings", "notice": "notices"}[level]
        message = (
            f"{rest} more manifest {what}: see this step's log (GitHub shows"
            f" {ANNOTATIONS_PER_STEP} annotations of a kind per step)"
        )
        file = repository_path(problems[0].file, ctx.workspace)
        stream.write(command(level, message, [("file", file)]) + "\n")
    stream.flush()


# (budget in characters, where the full plan is, a line under the verdict) -> Markdown
Render = Callable[[int, str, str], str]


def _publish(
    ctx: CiContext,
    plan: Plan,
    render: Render,
    outputs: Mapping[str, str],
    *,
    changed: bool,
    manifest: str,
    channels: Channels,
    console: Console,
    transport: httpx.BaseTransport | None,
) -> None:
    """Every channel the CI offers and the command line wants; `changed`: a missing comment
    is created (else only an existing one is updated, unless --comment-on always)."""
    _warn_context(ctx, console)
    summarised = _summary(ctx, channels, render, console)
    _outputs(ctx, outputs, console)
    if channels.comment:
        wanted = changed or channels.comment_on == "always"
        _comment(ctx, render, manifest, plan, wanted, console, transport, summarised)


def _summary(ctx: CiContext, channels: Channels, render: Render, console: Console) -> bool:
    """Append to the job summary; whether it now holds the plan."""
    if ctx.summary_path is None or not channels.summary:
        return False
    from comwit.ci.summary import append_summary
    from comwit.render.markdown import FULL_PLAN

    try:
        if append_summary(ctx.summary_path, lambda budget: render(budget, FULL_PLAN, "")):
            return True
        console.warn("the job summary is full (1 MiB): not adding the plan to it")
    except OSError as exc:
        console.warn(
            f"cannot write the job summary {cut_path(ctx.summary_path)}: {exc.strerror or exc}"
        )
    return False


def _outputs(ctx: CiContext, values: Mapping[str, str], console: Console) -> None:
    if ctx.output_path is not None:
        from comwit.ci.outputs import write_outputs

        try:
            write_outputs(ctx.output_path, values)
        except OSError as exc:
            console.warn(
                f"cannot write the step outputs {cut_path(ctx.output_path)}: {exc.strerror or exc}"
            )
    if ctx.dotenv_path is not None:
        _dotenv(ctx.dotenv_path, values, console)


def _dotenv(path: Path, values: Mapping[str, str], console: Console) -> None:
    from comwit.ci.dotenv import MAX_BYTES, MAX_VARIABLES, write_dotenv

    try:
        left_out = write_dotenv(path, values)
    except OSError as exc:
        console.warn(f"cannot write the dotenv report {cut_path(path)}: {exc.strerror or exc}")
        return
    if left_out:
        console.warn(
            f"the dotenv report {path} leaves out {', '.join(left_out)}: GitLab takes one line "
            f"per value, at most {MAX_VARIABLES} variables and under {MAX_BYTES} bytes"
        )


def _comment(
    ctx: CiContext,
    render: Render,
    manifest: str,
    plan: Plan,
    wanted: bool,
    console: Console,
    transport: httpx.BaseTransport | None,
    summarised: bool,
) -> None:
    """Create or update the comment; `summarised`: the job summary holds the plan, so a
    warning that the comment failed can say where to read it."""
    from comwit.ci.comment import find_number, open_forge, run_link, upsert
    from comwit.ci.fit import fit
    from comwit.render.markdown import marker

    try:
        forge = open_forge(ctx, transport)
    except ForgeError as exc:
        console.warn(f"not commenting: {exc}")
        return
    try:
        number = find_number(ctx, forge)
        if number is None:
            commit = f" (commit {ctx.sha})" if ctx.sha else ""
            console.info(f"No {forge.noun} for this run{commit}: no comment.")
            return
        hidden = marker(manifest, plan.project, plan.environment)
        footer = run_link(ctx)
        body = fit(lambda budget: render(budget, _elsewhere(ctx), footer), forge.body_limit, len)
        if body is None:
            limit = forge.body_limit
            console.warn(f"not commenting: the comment does not fit in {limit} characters")
            return
        posted = upsert(forge, number, hidden, body, create=wanted)
        console.info(posted.describe() + ".")
    except ForgeError as exc:
        console.warn(f"could not comment on the {forge.noun}: {exc}{_hint(ctx, exc, summarised)}")
    except Exception as exc:  # a bug here must not fail a plan or a deploy that went well
        bug = f"{type(exc).__name__}: {cut(str(exc), 200)}"
        console.warn(f"could not comment on the {forge.noun}: comwit hit a bug ({bug})")
    finally:
        forge.close()


def _hint(ctx: CiContext, exc: ForgeError, summarised: bool) -> str:
    where = "; the plan itself is not affected"
    if summarised and ctx.run_url:
        where += f"; it is in the job summary: {ctx.run_url}"
    if exc.rate_limited:
        return f" (the next run updates the comment{where})"
    if exc.status == 403 and ctx.fork:
        return f": a pull request from a fork gets a read-only GITHUB_TOKEN{where}"
    if exc.status == 403:
        return f" (the token may not comment: a fork's pull request gets a read-only token{where})"
    if exc.status == 401:
        return " (the token was refused)"
    return ""


def _elsewhere(ctx: CiContext) -> str:
    """Where the whole plan is when the comment cannot hold it."""
    if ctx.kind == "github" and ctx.run_url:
        return f"The full plan is in the [job summary]({ctx.run_url})."
    if ctx.kind == "gitlab" and ctx.run_url:
        return f"The full plan is in the [job log]({ctx.run_url})."
    return "Run `comwit plan` for the full plan."


def _warn_context(ctx: CiContext, console: Console) -> None:
    for warning in ctx.warnings:
        console.warn(warning)
