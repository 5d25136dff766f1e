"""A `plan --comment` or `apply --comment` that ended in an error before it could report:
this manifest's living comment (never a new one) gets a notice above what it showed, so that
it no longer reads as this commit's plan, or as the plan that is live.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from comwit.ci.comment import find_marked, find_number, open_forge, run_link, with_notice
from comwit.ci.environment import CiContext
from comwit.ci.forge import ForgeError
from comwit.console import Console
from comwit.escape import cut, one_line
from comwit.render.markdown import is_marker
from comwit.secret import redact

if TYPE_CHECKING:
    import httpx

Command = Literal["plan", "apply"]
ERROR_SHOWN = 600  # characters of the error the notice quotes

_TITLE = {"plan": "Out of date", "apply": "Not applied"}
_BELOW = {
    "plan": "The plan below is an earlier one: it does not show this commit.",
    "apply": "The plan below may not be live: the run's log says what was done.",
}


def publish_failure(
    ctx: CiContext,
    command: Command,
    error: str,
    *,
    manifest: str,
    project: str | None,
    environment: str | None,
    console: Console,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Put the notice on this manifest's comment, if there is one. `project` None: the
    comment of any project (the run failed before it knew which). Never raises."""
    try:
        forge = open_forge(ctx, transport)
    except ForgeError:
        return  # no token, no forge: there was no comment to go stale
    try:
        number = find_number(ctx, forge)
        if number is None:
            return

        def ours(line: str) -> bool:
            return is_marker(line, manifest, project, environment)

        mine = find_marked(forge.comments(number), ours, forge.own_login())
        if mine is None:
            return
        notice = failure_notice(ctx, command, error)
        body = with_notice(mine.body, notice)
        if len(body) > forge.body_limit:  # no room for both: the notice and the marker only
            body = with_notice(mine.body.partition("\n")[0], notice)
        forge.update(number, mine, redact(body))
        console.info(f"Marked the comment on the {forge.noun}: {_TITLE[command].lower()}.")
    except ForgeError as exc:
        console.warn(f"could not mark the comment on the {forge.noun}: {exc}")
    except Exception as exc:  # a bug here must not hide the error being reported
        console.warn(f"could not mark the comment on the {forge.noun}: comwit hit a bug ({exc!r})")
    finally:
        forge.close()


def failure_notice(ctx: CiContext, command: Command, error: str) -> str:
    """The notice (a Markdown quote): which commit's plan or apply failed, and why."""
    at = f" of {ctx.sha}" if ctx.sha else ""
    text = cut(one_line(" ".join(error.split())), ERROR_SHOWN)
    # A code span whose fence is longer than any run of backticks inside, so the error
    # cannot end it.
    fence = "`" * max([1, *(len(run) + 1 for run in re.findall(r"`+", text))])
    lines = [
        "> [!CAUTION]",
        f"> **{_TITLE[command]}:** the {command}{at} failed: {fence} {text} {fence}",
        f"> {_BELOW[command]}",
    ]
    link = run_link(ctx)
    return "\n".join([*lines, f"> {link}"] if link else lines)
