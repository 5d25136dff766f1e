"""Render a plan as JSON for machines: stable ids, every field, preconditions, summary. Pure.

The document's JSON Schema is `plan_schema()` (docs/plan.schema.json holds a copy).
"""

from __future__ import annotations

import json
from typing import Any

from comwit import __version__
from comwit.plan.actions import FORMAT_VERSION, Plan


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "comwit_version": __version__,
        **plan.model_dump(mode="json"),
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, sort_keys=True, ensure_ascii=False)


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of `comwit plan --format json` output (draft 2020-12)."""
    schema = Plan.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "comwit plan (JSON)"
    schema["properties"] = {
        "format_version": {"const": FORMAT_VERSION},
        "comwit_version": {"type": "string"},
        **schema["properties"],
    }
    schema["required"] = sorted({*schema.get("required", ()), "format_version", "comwit_version"})
    schema["additionalProperties"] = False
    return schema
