"""App hostnames in the emulator: attach (answering DNS records), publish, finalize, detach.

A hostname belongs to one app at a time across all projects. With `external_records` it
stays `pending_dns` until its records are published (admin call or `--auto-dns`) and then
finalized; with `managed_project_domain` the emulator writes the records itself and the
hostname is active at once, provided it is under an active project domain of the app's
project (see `project_domains`). Every change is logged as an event of the app.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from typing import Final

from comwit.api import assumed
from comwit.emulator import logs, project_domains, schemas
from comwit.emulator.problems import ApiProblem, bad_request, not_found
from comwit.emulator.store import Principal, Store
from comwit.escape import quoted

EDGE_HOST: Final = "edge.comwit-emulator.invalid"
VERIFY_PREFIX: Final = "_comwit-verify"
_LABEL: Final = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME: Final = re.compile(rf"{_LABEL}(\.{_LABEL})+")


def normalize_hostname(raw: str) -> str:
    """Lowercase `raw` and check it is a plain DNS name (no scheme, port, wildcard); else 400."""
    name = raw.strip().lower().rstrip(".")
    if len(name) > 253 or not _HOSTNAME.fullmatch(name):
        raise bad_request(f"{quoted(raw)} is not a valid hostname.", "invalid_hostname")
    return name


def list_domains(store: Store, who: Principal, project_id: str, app_id: str) -> schemas.DomainList:
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        rows = db.execute(
            "SELECT domain, app_id, status FROM domains WHERE app_id = ? ORDER BY domain", (app_id,)
        ).fetchall()
    return schemas.DomainList(domains=[schemas.Domain(**dict(r)) for r in rows])


def attach(
    store: Store,
    who: Principal,
    project_id: str,
    app_id: str,
    body: schemas.AttachDomainBody,
    *,
    publish: bool,
    managed_dns: bool,
) -> schemas.DomainAttached:
    domain = normalize_hostname(body.domain)
    managed = body.dns_mode == "managed_project_domain"
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        if managed and not _attached_to(db, app_id, domain):
            project_domains.require_enabled(managed_dns)
            project_domains.check_covered(db, project_id, domain)
        return attach_in(store, db, app_id, domain, body.dns_mode, publish=publish)


def attach_in(
    store: Store,
    db: sqlite3.Connection,
    app_id: str,
    domain: str,
    dns_mode: str,
    *,
    publish: bool,
) -> schemas.DomainAttached:
    """Attach inside an open transaction; attaching again to the same app changes nothing."""
    check_free(db, app_id, domain)
    if not _attached_to(db, app_id, domain):
        managed = dns_mode == "managed_project_domain"
        status = assumed.DOMAIN_ACTIVE if managed else assumed.DOMAIN_PENDING
        db.execute(
            "INSERT INTO domains VALUES (?, ?, ?, ?, ?, ?)",
            (
                domain,
                app_id,
                status,
                dns_mode,
                secrets.token_hex(16),
                int(managed or publish),
            ),
        )
        logs.record(db, store, app_id, f"hostname {domain} attached ({dns_mode}): {status}")
    return _attached(db, domain)


def check_free(db: sqlite3.Connection, app_id: str, domain: str) -> None:
    row = db.execute("SELECT app_id FROM domains WHERE domain = ?", (domain,)).fetchone()
    if row is not None and row["app_id"] != app_id:
        raise ApiProblem(
            assumed.STATUS_DOMAIN_CONFLICT,
            f"Hostname {domain} is already attached to another app.",
            "domain_taken",
        )


def finalize(
    store: Store, who: Principal, project_id: str, app_id: str, domain: str
) -> schemas.DomainEnvelope:
    """Make a hostname active once its records are published; 409 before that."""
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        row = _owned(db, app_id, domain)
        if not row["published"]:
            raise ApiProblem(
                assumed.STATUS_DOMAIN_CONFLICT,
                f"The DNS records of {domain} are not published yet; publish them, then finalize.",
                "dns_not_published",
            )
        if row["status"] != assumed.DOMAIN_ACTIVE:
            db.execute(
                "UPDATE domains SET status = ? WHERE domain = ?", (assumed.DOMAIN_ACTIVE, domain)
            )
            logs.record(db, store, app_id, f"hostname {domain} finalized: active")
        return schemas.DomainEnvelope(domain=_domain(db, domain))


def detach(
    store: Store, who: Principal, project_id: str, app_id: str, domain: str
) -> schemas.Domain:
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        _owned(db, app_id, domain)
        db.execute("DELETE FROM domains WHERE domain = ?", (domain,))
        logs.record(db, store, app_id, f"hostname {domain} detached")
    return schemas.Domain(domain=domain, app_id=app_id, status=assumed.DOMAIN_DETACHED)


def publish(store: Store, domain: str) -> schemas.DomainAttached:
    """Emulator-only: the user has published the records of `domain` in their DNS."""
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM domains WHERE domain = ?", (domain,)).fetchone() is None:
            raise not_found(f"Hostname {domain} is not attached to any app.", "domain_not_found")
        db.execute("UPDATE domains SET published = 1 WHERE domain = ?", (domain,))
        return _attached(db, domain)


def _attached_to(db: sqlite3.Connection, app_id: str, domain: str) -> bool:
    row = db.execute("SELECT app_id FROM domains WHERE domain = ?", (domain,)).fetchone()
    return row is not None and row["app_id"] == app_id


def _owned(db: sqlite3.Connection, app_id: str, domain: str) -> sqlite3.Row:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM domains WHERE domain = ? AND app_id = ?", (domain.lower(), app_id)
    ).fetchone()
    if row is None:
        raise not_found(f"Hostname {domain} is not attached to app {app_id}.", "domain_not_found")
    return row


def _domain(db: sqlite3.Connection, domain: str) -> schemas.Domain:
    row = db.execute(
        "SELECT domain, app_id, status FROM domains WHERE domain = ?", (domain,)
    ).fetchone()
    return schemas.Domain(**dict(row))


def _attached(db: sqlite3.Connection, domain: str) -> schemas.DomainAttached:
    row = db.execute("SELECT * FROM domains WHERE domain = ?", (domain,)).fetchone()
    records = [
        schemas.DnsRecord(record_type="CNAME", name=domain, value=EDGE_HOST),
        schemas.DnsRecord(
            record_type="TXT",
            name=f"{VERIFY_PREFIX}.{domain}",
            value=f"comwit-verification={row['verification']}",
        ),
    ]
    return schemas.DomainAttached(
        domain=domain,
        app_id=row["app_id"],
        status=row["status"],
        dns_mode=row["dns_mode"],
        dns_records=records,
    )
