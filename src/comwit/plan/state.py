"""The two inputs of `diff`: what the manifest wants (desired) and what the API has (observed).

Plain frozen values: building them is I/O (digests, HTTP), comparing them is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Literal

from comwit.frozen import frozen
from comwit.plan.ledger import AppLedger

DnsMode = Literal["external_records", "managed_project_domain"]
DNS_MODES: Mapping[str, DnsMode] = {
    "external": "external_records",
    "managed": "managed_project_domain",
}


@frozen
class EnvValue:
    """A desired env value; `sensitive` when it came from ${VAR} and must never be shown."""

    value: str
    sensitive: bool = False


@frozen
class Options:
    """Runtime options sent with a deploy, recorded per build in the ledger."""

    env_ref: str | None = None
    max_concurrent_requests: int | None = None


@frozen
class BuildDir:
    """Deploy the content of a directory, identified by its tree digest."""

    path: Path  # absolute, for digesting and packing
    digest: str
    relative: str = "."  # as plans show and save it: relative to the manifest, POSIX
    exclude: tuple[str, ...] = ()
    total_size: int = 0


@frozen
class PinnedBuild:
    """Keep an existing build live (a rollback by pull request)."""

    build_id: str


@frozen
class DesiredHost:
    name: str
    dns_mode: DnsMode = "external_records"


@frozen
class DesiredApp:
    name: str
    source: BuildDir | PinnedBuild
    options: Options = Options()
    hosts: tuple[DesiredHost, ...] = ()
    env: Mapping[str, EnvValue] | None = None
    protect: bool = False


@frozen
class DesiredState:
    project: str
    apps: tuple[DesiredApp, ...] = ()
    environment: str | None = None  # the manifest's --env overlay, if any
    not_selected: tuple[str, ...] = ()  # manifest apps that --app / --exclude-app left out


@frozen
class ObservedBuild:
    build_id: str
    created_at: str | None = None
    artifact_size: int | None = None
    deployed_at_ms: int | None = None


@frozen
class ObservedHost:
    name: str
    status: str


@frozen
class ObservedApp:
    name: str
    app_id: str
    active_build_id: str | None = None
    builds: tuple[ObservedBuild, ...] = ()
    hosts: tuple[ObservedHost, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    ledger: AppLedger = field(default_factory=AppLedger)
    secret_env: frozenset[str] = frozenset()  # keys the API marks secret
    default_url: str | None = None  # the API's URL of the app, when it gives one

    def has_build(self, build_id: str) -> bool:
        return any(build.build_id == build_id for build in self.builds)


@frozen
class ObservedState:
    project: str
    apps: Mapping[str, ObservedApp] = field(default_factory=dict)
    unmanaged: tuple[str, ...] = ()  # live apps that the manifest does not name
