"""How one emulator instance behaves: DNS, limits, disabled features, and assumptions played
differently from `comwit.api.assumed` (to see what comwit does when one proves wrong)."""

from __future__ import annotations

from dataclasses import field, fields, replace
from typing import Final

from comwit.api import assumed
from comwit.escape import quoted
from comwit.frozen import frozen

DEFAULT_MAX_ARTIFACT_BYTES: Final = 1024**3
DEFAULT_LOGS_PAGE_SIZE: Final = 50
# What `GET /v1/projects` answers when listing is not enabled: the codes the official CLI
# reads as "not enabled for this token".
LISTING_DISABLED_STATUSES: Final = (404, 501)


@frozen
class Assumptions:
    """The assumed parts of the contract as this emulator plays them; the defaults are
    comwit's own. `app_envelope=None` answers `GET .../apps/{a}` flat."""

    app_envelope: str | None = assumed.APP_ENVELOPE
    rollback_body_field: str = assumed.ROLLBACK_BODY_FIELD
    status_unauthenticated: int = assumed.STATUS_UNAUTHENTICATED
    logs_page_token: str = assumed.LOGS_PAGE_TOKEN_PARAM

    def changed(self) -> dict[str, object]:
        """The assumptions that differ from comwit's, by their `assumed` name."""
        default = Assumptions()
        return {
            _ASSUMED_NAMES[f.name]: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }


_ASSUMED_NAMES: Final = {
    "app_envelope": "APP_ENVELOPE",
    "rollback_body_field": "ROLLBACK_BODY_FIELD",
    "status_unauthenticated": "STATUS_UNAUTHENTICATED",
    "logs_page_token": "LOGS_PAGE_TOKEN_PARAM",
}


def parse_assumption(text: str, into: Assumptions) -> Assumptions:
    """`NAME=VALUE` (NAME as in `comwit.api.assumed`) applied to `into`; ValueError if bad."""
    name, sep, value = text.partition("=")
    by_assumed = {v: k for k, v in _ASSUMED_NAMES.items()}
    if not sep or name.strip() not in by_assumed:
        known = ", ".join(sorted(by_assumed))
        raise ValueError(f"{quoted(text)} is not NAME=VALUE with NAME one of {known}")
    attribute = by_assumed[name.strip()]
    value = value.strip()
    if attribute == "status_unauthenticated":
        if not value.isdigit() or not 400 <= int(value) <= 499:
            raise ValueError(f"{name}={quoted(value)}: give a 4xx status")
        return replace(into, status_unauthenticated=int(value))
    if attribute == "app_envelope":
        return replace(into, app_envelope=value or None)
    if not value:
        raise ValueError(f"{name}= needs a value")
    if attribute == "rollback_body_field":
        return replace(into, rollback_body_field=value)
    return replace(into, logs_page_token=value)


@frozen
class Settings:
    """`auto_dns`: hostnames' DNS records and project domains' delegations count as done at once.
    `project_listing`: None lists projects; 404 or 501 answers that instead (not enabled).
    `managed_dns`: project domains and `managed_project_domain` hostnames; off answers 501."""

    auto_dns: bool = False
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES
    project_listing: int | None = None
    managed_dns: bool = True
    logs_page_size: int = DEFAULT_LOGS_PAGE_SIZE
    assumptions: Assumptions = field(default_factory=Assumptions)
