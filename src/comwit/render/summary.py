"""What apply did, as text for people and JSON for machines. Pure."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from comwit.apply.result import ApplyResult, Outcome
from comwit.escape import one_line
from comwit.render.describe import format_bytes

_STYLE = {
    "done": "add",
    "interrupted": "error",
    "failed": "error",
    "skipped": "warning",
    "not_started": "warning",
    "unchanged": "dim",
}
_WORDS = {"not_started": "not started"}


def render_summary(result: ApplyResult, paint: Callable[[str, str], str] | None = None) -> str:
    color = paint or (lambda style, text: text)
    counts = {s: sum(1 for o in result.outcomes if o.status == s) for s in _STYLE}
    head = ", ".join(f"{n} {_WORDS.get(s, s)}" for s, n in counts.items() if n) or "nothing to do"
    verdict = "Apply complete" if result.ok else "Apply finished with failures"
    if result.exit_code is not None:
        verdict = "Apply interrupted"
    lines = [color("bold", f"{verdict}: {head}; {format_bytes(result.uploaded)} uploaded.")]
    width = max((len(o.app) for o in result.outcomes), default=0)
    # An unchanged app is listed only when there is more to say (another run applied it).
    shown = [o for o in result.outcomes if o.status != "unchanged" or o.detail]
    column = max([8, *(len(_WORDS.get(o.status, o.status)) + 1 for o in shown)])
    for outcome in shown:
        lines.append(color(_STYLE[outcome.status], _line(outcome, width, column)))
    warnings = [f"  {o.app}: {one_line(w)}" for o in result.outcomes for w in o.warnings]
    if warnings:
        lines += ["Warnings:", *warnings]
    records = [r for o in result.outcomes for r in o.records]
    if records:
        lines.append("DNS records to publish (the next apply finalizes the hostnames):")
        lines += [one_line(f"  {r.host}: {r.record_type} {r.name} -> {r.value}") for r in records]
    pending = [f"{host} ({o.app})" for o in result.outcomes for host in o.pending]
    if pending:
        lines.append("Waiting for DNS: " + ", ".join(pending))
    if result.urls:
        lines.append("Live URLs:")
        lines += [f"  {app:<{width}}  {url}" for app, url in result.urls.items()]
    return "\n".join([*lines, *result.hints])


def render_summary_json(result: ApplyResult) -> str:
    document = {
        "ok": result.ok,
        "uploaded_bytes": result.uploaded,
        "apps": [dataclasses.asdict(outcome) for outcome in result.outcomes],
        "urls": result.urls,
        "hints": list(result.hints),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _line(outcome: Outcome, width: int, column: int) -> str:
    text = f"  {_WORDS.get(outcome.status, outcome.status):<{column}} {outcome.app:<{width}}  "
    if outcome.status == "done":
        live = f"build {outcome.build_id} is live; " if outcome.build_id else ""
        if outcome.detail and not outcome.steps:  # done by an earlier run
            return text + live + outcome.detail
        return text + f"{live}{len(outcome.steps)} step{'s' if len(outcome.steps) != 1 else ''}"
    if outcome.status == "interrupted" and outcome.steps:
        return text + f"{outcome.detail}; done before: " + "; ".join(outcome.steps)
    return text + outcome.detail
