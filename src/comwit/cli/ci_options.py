"""The CI options of `plan` and `apply` (--comment, --comment-on, --no-summary) and the one
call each makes when done; the CI's channels are loaded only in a CI job or with --comment."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Concatenate, Literal, ParamSpec

import typer

from comwit.cli.settings import project_variable
from comwit.errors import ComwitError
from comwit.frozen import frozen

if TYPE_CHECKING:
    from comwit.apply.result import ApplyResult
    from comwit.ci.environment import CiContext
    from comwit.ci.publish import Channels
    from comwit.ci.workflow import Level
    from comwit.cli.settings import Settings
    from comwit.errors import Problem
    from comwit.plan.actions import Plan


class CommentWhen(enum.StrEnum):
    changes = "changes"
    always = "always"


Comment = Annotated[
    bool,
    typer.Option(
        "--comment",
        help="Create or update this manifest's comment on the pull request "
        "(GitHub Actions, GitLab CI).",
    ),
]
CommentOn = Annotated[
    CommentWhen,
    typer.Option(
        "--comment-on",
        help="changes: post a new comment only when something changes (an existing one is "
        "always updated); always: post one anyway.",
    ),
]
NoSummary = Annotated[bool, typer.Option("--no-summary", help="Do not append to the job summary.")]


@frozen
class CiChoice:
    """What the command line asked of the CI's channels."""

    comment: bool = False
    comment_on: CommentWhen = CommentWhen.changes
    no_summary: bool = False

    def channels(self) -> Channels:
        from comwit.ci.publish import Channels

        return Channels(self.comment, self.comment_on.value, summary=not self.no_summary)


def after_plan(
    settings: Settings,
    plan: Plan,
    *,
    plan_path: Path | None,
    choice: CiChoice,
    outputs: Mapping[str, str] | None = None,
) -> None:
    """Write the plan to the CI's channels (nothing happens outside CI without --comment)."""
    ctx = _publishing_to(settings, choice)
    if ctx is None:
        return
    from comwit.ci.publish import publish_plan

    publish_plan(
        ctx,
        plan,
        manifest=_marker_path(settings.manifest, ctx.workspace),
        plan_path=str(plan_path) if plan_path is not None else None,
        channels=choice.channels(),
        outputs=outputs or {},
        console=settings.console,
    )


def after_apply(
    settings: Settings,
    plan: Plan,
    result: ApplyResult | None,
    *,
    choice: CiChoice,
    outputs: Mapping[str, str] | None = None,
    previews: str = "",
) -> None:
    """Write what apply did to the CI's channels; the plan's comment moves to "applied"."""
    ctx = _publishing_to(settings, choice)
    if ctx is None:
        return
    from comwit.ci.publish import publish_apply

    publish_apply(
        ctx,
        plan,
        result,
        manifest=_marker_path(settings.manifest, ctx.workspace),
        urls=live_urls(result),
        channels=choice.channels(),
        console=settings.console,
        outputs=outputs or {},
        previews=previews,
    )


P = ParamSpec("P")
Body = Callable[Concatenate["Settings", P], int]


def noting_failure(command: Literal["plan", "apply"]) -> Callable[[Body[P]], Body[P]]:
    """Wrap a command body taking `comment=`: when it fails with --comment in CI, before its
    error is shown, the manifest's comment is marked as out of date (or not applied), so it
    no longer reads as this commit's plan."""

    def wrap(body: Body[P]) -> Body[P]:
        def run(settings: Settings, /, *args: P.args, **options: P.kwargs) -> int:
            try:
                return body(settings, *args, **options)
            except ComwitError as exc:
                if options.get("comment"):
                    _note_failure(settings, command, exc)
                raise

        functools.update_wrapper(run, body)  # its signature and help stay the body's
        return run

    return wrap


def _note_failure(settings: Settings, command: Literal["plan", "apply"], exc: Exception) -> None:
    from comwit.ci.tokens import in_ci

    if not in_ci(settings.environ):
        return
    from comwit.ci.environment import detect

    ctx = detect(settings.environ)
    if not ctx.forge:
        return
    try:
        manifest = _marker_path(settings.manifest, ctx.workspace)
    except ComwitError:
        return  # no manifest here: no comment of one to mark
    from comwit.ci.failure import publish_failure

    publish_failure(
        ctx,
        command,
        str(exc),
        manifest=manifest,
        project=settings.project or project_variable(settings.environ),
        environment=settings.env,
        console=settings.console,
    )


def _publishing_to(settings: Settings, choice: CiChoice) -> CiContext | None:
    """The CI run whose channels to write; None outside CI without --comment."""
    from comwit.ci.tokens import in_ci

    if not in_ci(settings.environ) and not choice.comment:
        return None
    from comwit.ci.environment import detect

    return detect(settings.environ)


def live_urls(result: ApplyResult | None) -> Mapping[str, str]:
    return result.urls if result else {}


def _marker_path(manifest: Path, workspace: Path | None) -> str:
    """The manifest as the marker names it: relative to the checkout, so two manifests of
    one repository never share a comment, wherever comwit was started."""
    from comwit.ci.workflow import repository_path
    from comwit.manifest.load import display_name

    return repository_path(display_name(manifest), workspace)


def annotate_problems(settings: Settings, problems: list[Problem], level: Level) -> None:
    """In GitHub Actions, manifest problems (or warnings) also show on their lines."""
    if not problems:
        return
    from comwit.ci.environment import detect
    from comwit.ci.publish import annotate

    annotate(detect(settings.environ), problems, level, settings.console.err)
