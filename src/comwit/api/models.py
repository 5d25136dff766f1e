"""Observe step, boundary: the Comwit API's answers as frozen values, field for field.

Unknown fields are ignored (the contract says so); optional fields default to None.
Collections are tuples so that observed state stays immutable.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


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
    """A flat report; the DELETE is repeated until `complete` is true."""

    complete: bool
    app_id: str | None = None


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


class EnvVar(_Answer):
    key: str
    value: str
    secret: bool = False


class EnvList(_Answer):
    variables: tuple[EnvVar, ...]


class EnvPutResult(_Answer):
    key: str
    secret: bool = False
