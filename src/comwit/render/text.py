"""Render a plan as terminal text, Terraform-like: + create, ~ change, - remove, ! held back.

Pure. The symbols are the Markdown renderer's too (render.describe.LEGEND).
"""

from __future__ import annotations

from collections.abc import Callable

from comwit.escape import one_line
from comwit.plan.actions import AppPlan, CreateApp, Deploy, Plan, RecordLedger
from comwit.render.describe import (
    LEGEND,
    Line,
    changed_paths,
    describe,
    selection,
    summary_line,
    unmanaged_line,
)

Paint = Callable[[str, str], str]
_PATHS_SHOWN = 10  # changed paths of each kind that `plan -v` lists
_STYLE = {"+": "add", "~": "change", "-": "remove", ".": "dim", "!": "warning", "x": "error"}


def render_text(plan: Plan, *, paint: Paint | None = None, verbose: bool = False) -> str:
    """The whole plan; `paint(style, text)` adds colour (the console decides whether)."""
    color = paint or _plain
    lines = [_header(plan), ""]
    blocks = [app for app in plan.apps if app.changed or app.error or app.held]
    if blocks:
        lines += [color("dim", f"Symbols: {LEGEND}."), ""]
    for app in plan.apps:
        if app.changed or app.error or app.held or app.notes or verbose:
            lines += _app_block(app, color, verbose)
    if verbose and plan.not_selected:
        why = "Not in this shard" if plan.shard else "Not selected (--app / --exclude-app)"
        lines += [f"{why}: " + ", ".join(plan.not_selected), ""]
    unmanaged = unmanaged_line(plan)
    if unmanaged:
        lines += [f"{unmanaged}.", ""]
    summary = summary_line(plan.summary)
    if plan.has_changes:
        lines.append(color("bold", f"Plan: {summary}."))
    else:
        lines.append(color("bold", f"No changes: {summary}."))
    return "\n".join(lines)


def _header(plan: Plan) -> str:
    where = f"project {one_line(plan.project)}"
    if plan.environment:
        where += f", environment {one_line(plan.environment)}"
    return f"comwit plan for {where}: {selection(plan)}"


def _app_block(app: AppPlan, color: Paint, verbose: bool) -> list[str]:
    if app.error:
        return [color("error", f"x {app.app}: {one_line(app.error)}"), ""]
    sign = "+" if any(isinstance(a, CreateApp) for a in app.actions) else "~"
    if not app.changed:
        sign = "!" if app.held else " "
    title = f"{sign} {app.app}" + (" (new app)" if sign == "+" else "")
    lines = [color(_STYLE.get(sign, "bold"), title) if sign.strip() else title + ": no changes"]
    for action in app.actions:
        if isinstance(action, RecordLedger) and not verbose and not action.adopt:
            continue
        lines += _action_lines(describe(action), color, destructive=action.destructive)
        if isinstance(action, Deploy) and verbose:
            lines += [f"            {line}" for line in changed_paths(action, _PATHS_SHOWN)]
    for held in app.held:
        line = describe(held.action)
        reason = one_line(held.reason)
        lines.append(color("warning", f"    ! held back: {line.text}: {reason}"))
    if app.skip:
        lines.append(color("warning", f"    ! apply skips this app: {one_line(app.skip)}"))
    lines += [f"    note: {one_line(note)}" for note in app.notes]
    lines.append("")
    return lines


def _action_lines(line: Line, color: Paint, *, destructive: bool) -> list[str]:
    suffix = "  [destructive]" if destructive else ""
    text = f"    {line.sign} {line.text}{suffix}"
    return [color(_STYLE[line.sign], text), *(f"        {detail}" for detail in line.details)]


def _plain(style: str, text: str) -> str:
    del style
    return text
