"""The emulator's API nouns: request and response bodies, field for field as the contract says.

The store returns these models and the routes serialise them, so `/openapi.json` describes
exactly what is sent. Request bodies ignore unknown fields, as default FastAPI models do.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, computed_field

DnsMode = Literal["external_records", "managed_project_domain"]


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(_Answer):
    """Every error's body (`application/problem+json`)."""

    title: str
    status: int
    detail: str
    code: str | None = None


class Project(_Answer):
    project_id: str
    name: str


class ProjectList(_Answer):
    projects: list[Project]


APP_DOMAIN = "apps.comwit-emulator.invalid"


class App(_Answer):
    app_id: str
    name: str
    active_build_id: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def default_domain(self) -> str:
        """Every app answers at a domain of its own (the newer, optional field)."""
        return f"{self.app_id}.{APP_DOMAIN}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def default_url(self) -> str:
        return f"https://{self.default_domain}"


class AppCreated(_Answer):
    app: App


class AppList(_Answer):
    apps: list[App]


class AppDeleteReport(_Answer):
    """Flat, the fields the official CLI prints: the caller repeats the DELETE until
    `complete` is true. Counts are of what this round removed."""

    app_id: str
    complete: bool
    pointer_deleted: bool
    cloudfront_tenants_deleted: int
    secrets_deleted: int
    artifacts_deleted: int
    artifacts_present: int
    env_keys_deleted: int
    domains_deleted: int
    catalog_deleted: bool
    errors: list[str]


class Deployment(_Answer):
    app_id: str
    build_id: str
    hosts: list[str]
    uploaded: bool


class Build(_Answer):
    build_id: str
    created_at: str
    artifact_size: int
    deployed_at_ms: int


class BuildList(_Answer):
    builds: list[Build]


class Rollback(_Answer):
    app_id: str
    build_id: str


class DnsRecord(_Answer):
    record_type: str
    name: str
    value: str


class Domain(_Answer):
    domain: str
    app_id: str
    status: str


class DomainAttached(_Answer):
    domain: str
    app_id: str
    status: str
    dns_mode: DnsMode
    dns_records: list[DnsRecord]


class DomainEnvelope(_Answer):
    domain: Domain


class DomainList(_Answer):
    domains: list[Domain]


class Variable(_Answer):
    key: str
    value: str
    secret: bool


class VariableList(_Answer):
    variables: list[Variable]


class VariableSet(_Answer):
    key: str
    secret: bool


class VariableDeleted(_Answer):
    key: str
    deleted: bool


class LogLine(_Answer):
    """One of the app's own events; optional fields are left out when unset."""

    timestamp: str
    level: str
    message: str
    app_id: str
    build_id: str | None = None
    route: str | None = None
    request_id: str | None = None
    trace_id: str | None = None
    error_class: str | None = None
    error_stack: str | None = None


class LogPage(_Answer):
    logs: list[LogLine]
    next_page_token: str | None = None


class Delegation(_Answer):
    checked_at: str
    matched: bool
    observed_nameservers: list[str]


class ProjectDomain(_Answer):
    """A DNS zone Comwit manages for a project; `managed_project_domain` hostnames live
    under one whose delegation is in place."""

    id: str
    project_id: str
    domain: str
    dns_mode: str
    status: str
    hosted_zone_id: str
    nameservers: list[str]
    delegation: Delegation
    created_at: str
    updated_at: str


class ProjectDomainEnvelope(_Answer):
    domain: ProjectDomain


class ProjectDomainList(_Answer):
    domains: list[ProjectDomain]


class CreateProjectDomainBody(BaseModel):
    domain: StrictStr
    dns_mode: Literal["route53_delegated"] = "route53_delegated"


class CreateAppBody(BaseModel):
    name: StrictStr


class AttachDomainBody(BaseModel):
    domain: StrictStr
    dns_mode: DnsMode = "external_records"


class PutVariableBody(BaseModel):
    value: StrictStr
    secret: StrictBool = False
