"""The emulator's `/openapi.json`: FastAPI's document, with the parts the assumptions shape
filled in as this emulator plays them (see `settings.Assumptions`), and 400 where FastAPI
would declare its 422 (the emulator answers invalid input with 400).

So a client comparing the document with its own assumptions (`comwit doctor`) sees exactly
the emulator's choices, also when one is played differently on purpose.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from comwit.api import assumed
from comwit.emulator.settings import Assumptions

_APP: Final = "/v1/projects/{project_id}/apps/{app_id}"
_APP_SCHEMA: Final = {"$ref": "#/components/schemas/App"}


def play_assumptions(spec: dict[str, Any], assumptions: Assumptions) -> dict[str, Any]:
    """A copy of FastAPI's `spec` describing the routes as `assumptions` shape them."""
    out = copy.deepcopy(spec)
    paths = out["paths"]
    for operations in paths.values():
        for operation in operations.values():
            _fix_statuses(operation["responses"], assumptions.status_unauthenticated)
    get_app = paths[_APP]["get"]["responses"]["200"]["content"]["application/json"]
    envelope = assumptions.app_envelope
    get_app["schema"] = (
        _APP_SCHEMA
        if envelope is None
        else {"type": "object", "required": [envelope], "properties": {envelope: _APP_SCHEMA}}
    )
    field = assumptions.rollback_body_field
    rollback = paths[f"{_APP}/rollbacks"]["post"]["requestBody"]["content"]["application/json"]
    rollback["schema"] = {
        "type": "object",
        "required": [field],
        "properties": {field: {"type": "string", "title": "Build id"}},
    }
    paths[f"{_APP}/logs"]["get"]["parameters"].append(
        {
            "name": assumptions.logs_page_token,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "The `next_page_token` of the previous page.",
        }
    )
    return out


def _fix_statuses(responses: dict[str, Any], unauthenticated: int) -> None:
    validation = responses.pop("422", None)
    if validation is not None and "400" not in responses:
        responses["400"] = validation
    default = str(assumed.STATUS_UNAUTHENTICATED)
    if str(unauthenticated) != default and default in responses:
        responses.setdefault(str(unauthenticated), responses.pop(default))
