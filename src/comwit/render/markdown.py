"""Render a plan as Markdown for a pull-request comment. Pure.

A hidden marker line naming the manifest, project and environment lets CI find and update
its own comment (one per manifest, project and environment); the whole comment stays under a
size budget (GitHub refuses comments over 65,536 characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from comwit.escape import one_line
from comwit.plan.actions import AppPlan, CreateApp, Deploy, Plan, RecordLedger, summary_field
from comwit.render.describe import (
    LEGEND,
    changed_paths,
    describe,
    selection,
    summary_line,
    unmanaged_line,
)

BUDGET = 65_000
FULL_PLAN = "Run `comwit plan` for the full plan."
_NOTICE = (
    "\n> **Truncated:** {hidden} more app(s) are not shown to keep this comment under the size "
    "limit. {full_plan}\n"
)
_RESERVE = 400  # room kept for the truncation notice and the footer
_LABELS = {
    "create": "create",
    "upload": "upload",
    "roll_back": "roll back",
    "attach": "attach hostname",
    "finalize": "finalize hostname",
    "detach": "detach hostname",
    "env_set": "set env",
    "env_delete": "delete env",
    "delete_app": "delete app",
}
_BACKTICKS = re.compile(r"`+")
_SHA = re.compile(r"[0-9a-f]{7,64}")
_CALLOUT_ITEMS = 50
_PATHS_SHOWN = 20  # changed paths of each kind a section lists


def marker(manifest: str, project: str, environment: str | None) -> str:
    """The hidden first line of a plan comment: which manifest, project and environment it is
    for, so that comments of two environments or two manifests never replace each other."""
    fields = {"manifest": manifest, "project": project, "environment": environment or ""}
    # Quoted, so no value can end the HTML comment or look like another field.
    text = " ".join(f"{key}={quote(value, safe='/._~@+')}" for key, value in fields.items())
    return f"<!-- comwit:plan {text} -->"


def is_marker(line: str, manifest: str, project: str | None, environment: str | None) -> bool:
    """Whether `line` is the marker of this manifest and environment, and of `project` (of
    any project when None: a run that failed before it knew the project)."""
    if project is not None:
        return line == marker(manifest, project, environment)
    head, _, tail = marker(manifest, "", environment).partition(" project= ")
    middle = line.removeprefix(head + " project=").removesuffix(" " + tail)
    return line.startswith(head + " project=") and line.endswith(" " + tail) and " " not in middle


def render_markdown(
    plan: Plan,
    *,
    manifest: str = "comwit.toml",
    budget: int = BUDGET,
    commit: str | None = None,
    full_plan: str = FULL_PLAN,
    footer: str = "",
) -> str:
    """The plan as one Markdown comment of at most `budget` characters. `manifest` is the
    manifest's path as the marker names it; `commit` the commit the plan was made for;
    `full_plan` says where the whole plan is when it does not fit; `footer`, a line shown
    under the verdict (the CI run that made the plan)."""
    head = _head(plan, marker(manifest, plan.project, plan.environment), commit)
    if footer:
        head += f"\n{footer}\n"
    sections = [_section(app) for app in plan.apps if app.changed or app.error or app.held]
    rows = [_row(app) for app in plan.apps if app.changed or app.error or app.held]
    table = ["| app | changes |", "| --- | --- |"]
    body: list[str] = []
    callout = _destructive(plan)
    used = len(head) + sum(len(line) + 1 for line in callout) + _RESERVE
    shown = 0
    for row, section in zip(rows, sections, strict=True):
        cost = len(row) + len(section) + 2
        if used + cost > budget:
            break
        table.append(row)
        body.append(section)
        used += cost
        shown += 1
    parts = [head]
    if rows:
        parts += ["\n".join(table), "", f"<sub>Symbols: {_legend()}.</sub>", "", *callout, *body]
    if shown < len(rows):
        parts.append(_NOTICE.format(hidden=len(rows) - shown, full_plan=full_plan))
    text = "\n".join(parts).rstrip() + "\n"
    return text if len(text) <= budget else text[: budget - 2] + "\n"


def _head(plan: Plan, hidden: str, commit: str | None) -> str:
    where = f"`{plan.project}`" + (f" ({plan.environment})" if plan.environment else "")
    verdict = summary_line(plan.summary)
    title = "Plan" if plan.has_changes else "No changes"
    # A bare hex SHA is linked to its commit by GitHub and GitLab; anything else is code.
    at = "" if not commit else f" at {commit}" if _SHA.fullmatch(commit) else f" at `{commit}`"
    head = f"{hidden}\n### comwit plan for {where}{at}\n\n**{title}:** {verdict}.\n"
    if plan.not_selected:
        head += f"\n{selection(plan)}: {_names(app.app for app in plan.apps)}.\n"
    unmanaged = unmanaged_line(plan)
    if unmanaged:
        head += f"\n{_cell(unmanaged)}.\n"
    return head


def _legend() -> str:
    return ", ".join(f"`{item[0]}`{item[1:]}" for item in LEGEND.split(", "))


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _row(app: AppPlan) -> str:
    if app.error:
        return f"| `{app.app}` | :x: {_cell(app.error)} |"
    kinds: dict[str, int] = {}
    for action in app.actions:
        kind = summary_field(action)
        if kind:
            kinds[_LABELS[kind]] = kinds.get(_LABELS[kind], 0) + 1
    cell = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    if app.held:
        cell += f"{', ' if cell else ''}{len(app.held)} held back"
    if any(action.destructive for action in app.actions):
        cell += " · **destructive**"
    label = f"`{app.app}`" + (
        " (new)" if any(isinstance(a, CreateApp) for a in app.actions) else ""
    )
    return f"| {label} | {_cell(cell)} |"


def _destructive(plan: Plan) -> list[str]:
    items = [
        f"- `{action.app}`: {describe(action).text}"
        for app in plan.apps
        for action in app.actions
        if action.destructive
    ]
    if not items:
        return []
    if len(items) > _CALLOUT_ITEMS:
        items = [*items[:_CALLOUT_ITEMS], f"- ... and {len(items) - _CALLOUT_ITEMS} more"]
    return ["> [!WARNING]", "> **Destructive changes:**", *(f"> {item}" for item in items), ""]


def _section(app: AppPlan) -> str:
    lines = []
    if app.error:
        lines.append(f"x {one_line(app.error)}")
    for action in app.actions:
        if isinstance(action, RecordLedger) and not action.adopt:
            continue
        line = describe(action)
        lines.append(f"{line.sign} {line.text}" + ("  [destructive]" if action.destructive else ""))
        lines += [f"#     {detail}" for detail in line.details]
        if isinstance(action, Deploy):
            lines += [f"#       {path}" for path in changed_paths(action, _PATHS_SHOWN)]
    for held in app.held:
        lines.append(f"! held back: {describe(held.action).text}: {one_line(held.reason)}")
    if app.skip:
        lines.append(f"! apply skips this app: {one_line(app.skip)}")
    lines += [f"# note: {one_line(note)}" for note in app.notes]
    # A fence longer than any run of backticks inside, so values cannot close it.
    fence = "`" * max([3, *(len(run) + 1 for line in lines for run in _BACKTICKS.findall(line))])
    summary = f"<details><summary><code>{app.app}</code>: {_count(app)}</summary>"
    return "\n".join([summary, "", fence + "diff", *lines, fence, "", "</details>", ""])


def _count(app: AppPlan) -> str:
    if app.error:
        return "error"
    n = sum(1 for action in app.actions if not isinstance(action, RecordLedger))
    return f"{n} change{'s' if n != 1 else ''}" + (
        f", {len(app.held)} held back" if app.held else ""
    )


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")
