"""Render what apply did as Markdown: the applied state of the plan comment and the job
summary of `comwit apply`. Pure.

The same marker as the plan's Markdown, so the comment that showed the plan moves on to
say what was applied; the plan follows in a collapsed section while it fits the budget.
"""

from __future__ import annotations

from collections.abc import Mapping

from comwit.apply.result import ApplyResult, Outcome
from comwit.plan.actions import Plan
from comwit.render.markdown import BUDGET, FULL_PLAN, marker, render_markdown

_ICON = {
    "done": ":white_check_mark:",
    "failed": ":x:",
    "skipped": ":warning:",
    "unchanged": ":heavy_minus_sign:",
}
_PLAN_MINIMUM = 600  # less room than this for the plan: leave it out
_ROW_RESERVE = 300


def render_applied(
    plan: Plan,
    result: ApplyResult | None,
    *,
    manifest: str = "comwit.toml",
    commit: str | None = None,
    urls: Mapping[str, str] | None = None,
    budget: int = BUDGET,
    full_plan: str = FULL_PLAN,
    previews: str = "",
    footer: str = "",
) -> str:
    """'Applied at SHA: N done, M failed', one row per app, then the plan that was applied.
    `previews`: a previews table (Markdown) shown right after the head; `footer`: a line
    under the verdict (the CI run that applied it)."""
    outcomes = result.outcomes if result else ()
    links = urls or {}
    head = _head(plan, outcomes, manifest, commit)
    if footer:
        head += f"\n{footer}\n"
    if previews:
        head += "\n" + previews
    parts = [head]
    used = len(head) + _ROW_RESERVE
    rows = ["| app | result |", "| --- | --- |"]
    for outcome in outcomes:
        row = _row(outcome, links.get(outcome.app) or outcome.url)
        if used + len(row) + 1 > budget:
            rows.append(f"| ... | {len(outcomes) - (len(rows) - 2)} more apps. {full_plan} |")
            break
        rows.append(row)
        used += len(row) + 1
    if outcomes:
        parts += ["\n".join(rows), ""]
    room = budget - sum(len(part) + 1 for part in parts) - 80
    if room >= _PLAN_MINIMUM:
        body = render_markdown(plan, manifest=manifest, budget=room, full_plan=full_plan)
        body = body.split("\n", 1)[1]  # its marker line: this comment has one already
        applied = all(o.status in ("done", "unchanged") for o in outcomes)
        title = "The plan that was applied" if applied else "The plan this apply was making live"
        parts += [f"<details><summary>{title}</summary>", "", body, "</details>"]
    text = "\n".join(parts).rstrip() + "\n"
    return text if len(text) <= budget else text[: budget - 2] + "\n"


def _head(plan: Plan, outcomes: tuple[Outcome, ...], manifest: str, commit: str | None) -> str:
    where = f"`{plan.project}`" + (f" ({plan.environment})" if plan.environment else "")
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in _ICON}
    told = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != "unchanged")
    verdict = told or "nothing to change"
    ok = all(o.status in ("done", "unchanged") for o in outcomes)
    title = "Applied" if ok else "Apply failed"
    at = f" at {commit}" if commit else ""
    hidden = marker(manifest, plan.project, plan.environment)
    return f"{hidden}\n### comwit apply for {where}\n\n**{title}{at}:** {verdict}.\n"


def _row(outcome: Outcome, url: str | None) -> str:
    if outcome.status == "done":
        # Without a build made live (env vars, hostnames, a deleted preview): what it did.
        what = f"build `{outcome.build_id}` is live" if outcome.build_id else _did(outcome)
    elif outcome.status == "unchanged":
        what = outcome.detail or "no changes"
    else:
        what = outcome.detail or outcome.status
    link = f" · <{url}>" if url else ""
    return f"| `{outcome.app}` | {_ICON[outcome.status]} {outcome.status}: {_cell(what)}{link} |"


def _did(outcome: Outcome) -> str:
    return "; ".join(outcome.steps) or outcome.detail or "done"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
