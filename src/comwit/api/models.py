"""Observe step, boundary: the Comwit API's answers as frozen values, field for field.

Unknown fields are ignored (the contract says so); optional fields default to None.
Collections are tuples so that observed state stays immutable.
"""

from typing import Final

from pydantic import BaseModel, ConfigDict

from comwit.frozen import frozen


class _Answer(BaseModel):
    # Validators are built when a model is first used: a command reads only a few of these.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class ProblemDetail(_Answer):
    """An error body (`application/problem+json`); every field may be missing."""

    title: str | None = None
    status: int | None = None
    detail: str | None = None
    code: str | None = None


class Project(_Answer):
    project_id: str
    name: str


class ProjectList(_Answer):
    projects: tuple[Project, ...]


class App(_Answer):
    app_id: str
    name: str
    active_build_id: str | None = None
    default_domain: str | None = None
    default_url: str | None = None


class AppEnvelope(_Answer):
    """`POST .../apps` (and, assumed, `GET .../apps/{a}`) wrap the app: {"app": {...}}."""

    app: App


class AppList(_Answer):
    apps: tuple[App, ...]


class AppDeleteReport(_Answer):
    """A flat report, field for field what the official CLI reads; the DELETE is repeated
    until `complete` is true. Only `complete` is relied on."""

    complete: bool
    app_id: str | None = None
    pointer_deleted: bool = False
    cloudfront_tenants_deleted: int = 0
    secrets_deleted: int = 0
    artifacts_deleted: int = 0
    artifacts_present: int = 0
    env_keys_deleted: int = 0
    domains_deleted: int = 0
    catalog_deleted: bool = False
    errors: tuple[str, ...] = ()


class DeployResult(_Answer):
    app_id: str
    build_id: str
    hosts: tuple[str, ...] = ()
    uploaded: bool = True


class Build(_Answer):
    """No digest, no active flag: the live build is the app's `active_build_id`."""

    build_id: str
    created_at: str | None = None
    artifact_size: int | None = None
    deployed_at_ms: int | None = None


class BuildList(_Answer):
    builds: tuple[Build, ...]


class RollbackResult(_Answer):
    app_id: str
    build_id: str


class Domain(_Answer):
    domain: str
    app_id: str
    status: str


class DomainEnvelope(_Answer):
    """`POST .../domains/{d}/finalize` wraps the hostname: {"domain": {...}}."""

    domain: Domain


class DomainList(_Answer):
    domains: tuple[Domain, ...]


class DnsRecord(_Answer):
    record_type: str
    name: str
    value: str


class DomainAttachment(_Answer):
    """What attaching a hostname answers: the records to publish before finalizing."""

    domain: str
    app_id: str
    status: str
    dns_mode: str | None = None
    dns_records: tuple[DnsRecord, ...] = ()


class LogLine(_Answer):
    """One line of an app's log."""

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
    """Newest first; `next_page_token` while more lines match."""

    logs: tuple[LogLine, ...]
    next_page_token: str | None = None


DEFAULT_TAIL: Final = 100  # lines of the log route's answer when the query sets no `tail`


@frozen
class LogQuery:
    """The log route's query, as the official CLI names it; `page_token` continues a listing
    (the client pages by itself: see `comwit.logs`)."""

    tail: int = DEFAULT_TAIL
    since: str | None = None
    level: str | None = None
    build_id: str | None = None
    route: str | None = None
    request_id: str | None = None
    page_token: str | None = None


class Delegation(_Answer):
    checked_at: str | None = None
    matched: bool = False
    observed_nameservers: tuple[str, ...] = ()


class ProjectDomain(_Answer):
    """A DNS zone Comwit manages for a project (`managed_project_domain` hostnames live
    under an active one)."""

    domain: str
    status: str
    id: str | None = None
    project_id: str | None = None
    dns_mode: str | None = None
    hosted_zone_id: str | None = None
    nameservers: tuple[str, ...] = ()
    delegation: Delegation | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ProjectDomainEnvelope(_Answer):
    domain: ProjectDomain


class ProjectDomainList(_Answer):
    domains: tuple[ProjectDomain, ...]


class EnvVar(_Answer):
    key: str
    value: str
    secret: bool = False


class EnvList(_Answer):
    variables: tuple[EnvVar, ...]


class EnvPutResult(_Answer):
    key: str
    secret: bool = False
