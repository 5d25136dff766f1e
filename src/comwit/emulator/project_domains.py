"""Project domains in the emulator: DNS zones Comwit manages for a project, under which
`managed_project_domain` hostnames get their records written for them.

A new one waits for its delegation (the user points the zone's NS records at the returned
nameservers): `POST /_emulator/project-domains/{domain}/delegate`, or `--auto-dns`, marks it
done. With managed DNS disabled every project-domain call, and every managed attach, is 501.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Final

from comwit.api import assumed
from comwit.emulator import schemas
from comwit.emulator.problems import ApiProblem, conflict, not_found
from comwit.emulator.store import Principal, Store, new_id

DNS_MODE: Final = assumed.PROJECT_DOMAIN_DNS_MODE
NAMESERVERS: Final = ("ns-1.comwit-emulator.invalid", "ns-2.comwit-emulator.invalid")


def require_enabled(enabled: bool) -> None:
    if not enabled:
        raise ApiProblem(
            501,
            "Managed DNS (project domains) is not enabled on this service; attach hostnames"
            " with dns_mode external_records and publish their records yourself.",
            "managed_dns_disabled",
        )


def list_domains(store: Store, who: Principal, project_id: str) -> schemas.ProjectDomainList:
    with store.transaction() as db:
        store.check_project(db, who, project_id)
        rows = db.execute(
            "SELECT * FROM project_domains WHERE project_id = ? ORDER BY domain", (project_id,)
        ).fetchall()
    return schemas.ProjectDomainList(domains=[_view(row) for row in rows])


def create(
    store: Store, who: Principal, project_id: str, domain: str, *, delegated: bool
) -> schemas.ProjectDomainEnvelope:
    """Add a zone (`domain` normalized); adding one the project has answers it unchanged."""
    created_at, _ = store.now()
    with store.transaction() as db:
        store.check_project(db, who, project_id)
        _claim(db, project_id, domain, delegated=delegated, created_at=created_at)
        return schemas.ProjectDomainEnvelope(domain=_view(_row(db, domain)))


def seed(store: Store, project_id: str, domain: str) -> schemas.ProjectDomainEnvelope:
    """Emulator-only: give `project_id` (created if new) the delegated zone `domain`, as a
    user who added it and pointed its NS records at Comwit would have (`comwit emulator
    domain`, for demos against the embedded emulator)."""
    created_at, _ = store.now()
    with store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO projects VALUES (?, ?)", (project_id, project_id))
        _claim(db, project_id, domain, delegated=True, created_at=created_at)
    return delegate(store, domain)


def _claim(
    db: sqlite3.Connection, project_id: str, domain: str, *, delegated: bool, created_at: str
) -> None:
    """Give `project_id` the zone `domain` unless it has it already; another project's is a
    conflict."""
    row = _row(db, domain)
    if row is not None and row["project_id"] != project_id:
        raise conflict(f"Domain {domain} belongs to another project.", "domain_taken")
    if row is None:
        db.execute(
            "INSERT INTO project_domains VALUES (?, ?, ?, ?, ?, ?, ?)",
            (domain, new_id("pdom"), project_id, f"Z{secrets.token_hex(8).upper()}",
             int(delegated), created_at, created_at),
        )  # fmt: skip


def delegate(store: Store, domain: str) -> schemas.ProjectDomainEnvelope:
    """Emulator-only: the user has pointed the zone's NS records at its nameservers."""
    updated_at, _ = store.now()
    with store.transaction() as db:
        if _row(db, domain) is None:
            raise not_found(f"Project domain {domain} does not exist.", "domain_not_found")
        db.execute(
            "UPDATE project_domains SET delegated = 1, updated_at = ? WHERE domain = ?",
            (updated_at, domain),
        )
        return schemas.ProjectDomainEnvelope(domain=_view(_row(db, domain)))


def check_covered(db: sqlite3.Connection, project_id: str, hostname: str) -> None:
    """A managed hostname needs an active project domain of its project at or above it."""
    rows = db.execute(
        "SELECT domain FROM project_domains WHERE project_id = ? AND delegated = 1", (project_id,)
    ).fetchall()
    if not any(hostname == r["domain"] or hostname.endswith("." + r["domain"]) for r in rows):
        raise ApiProblem(
            assumed.STATUS_NOT_UNDER_MANAGED_DOMAIN,
            f"Hostname {hostname} is not under an active project domain of project"
            f" {project_id}; add the domain and delegate it first, or use external_records.",
            "no_managed_project_domain",
        )


def _row(db: sqlite3.Connection, domain: str) -> sqlite3.Row:
    row: sqlite3.Row = db.execute(
        "SELECT * FROM project_domains WHERE domain = ?", (domain,)
    ).fetchone()
    return row


def _view(row: sqlite3.Row) -> schemas.ProjectDomain:
    delegated = bool(row["delegated"])
    return schemas.ProjectDomain(
        id=row["id"],
        project_id=row["project_id"],
        domain=row["domain"],
        dns_mode=DNS_MODE,
        status=assumed.PROJECT_DOMAIN_ACTIVE if delegated else assumed.PROJECT_DOMAIN_PENDING,
        hosted_zone_id=row["hosted_zone_id"],
        nameservers=list(NAMESERVERS),
        delegation=schemas.Delegation(
            checked_at=row["updated_at"],
            matched=delegated,
            observed_nameservers=list(NAMESERVERS) if delegated else [],
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
