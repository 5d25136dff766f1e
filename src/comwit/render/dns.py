"""Render the DNS records that hostnames waiting for them need (`comwit dns`, `status -v`). Pure.

The API answers the records only to the attach; comwit keeps them in the app's ledger, so a
hostname attached by other means shows as waiting with its records unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from comwit.api.assumed import DOMAIN_PENDING
from comwit.frozen import frozen
from comwit.plan.ledger import DnsRecord
from comwit.plan.state import ObservedApp

FORMAT_VERSION = 1
UNKNOWN = "not known to comwit: it did not attach this hostname; see the Comwit console"


@frozen
class WaitingHost:
    app: str
    host: str
    records: tuple[DnsRecord, ...]  # empty: unknown


def waiting_hosts(apps: Iterable[ObservedApp]) -> list[WaitingHost]:
    """Each hostname of these apps that waits for its DNS records, with the records known."""
    return [
        WaitingHost(app.name, host.name, tuple(app.ledger.dns.get(host.name, ())))
        for app in sorted(apps, key=lambda a: a.name)
        for host in app.hosts
        if host.status == DOMAIN_PENDING
    ]


def render_dns_text(project: str, waiting: Sequence[WaitingHost]) -> str:
    if not waiting:
        return f"comwit dns for project {project}: no hostname waits for DNS records."
    count = f"{len(waiting)} hostname{'s' if len(waiting) != 1 else ''}"
    rows = [("APP", "HOSTNAME", "TYPE", "NAME", "VALUE")]
    for each in waiting:
        rows += [(each.app, each.host, r.record_type, r.name, r.value) for r in each.records]
        if not each.records:
            rows.append((each.app, each.host, "?", "?", UNKNOWN))
    lines = [f"comwit dns for project {project}: {count} waiting for DNS records", ""]
    lines += _table(rows)
    lines += [
        "",
        "Publish these records at your DNS provider; the next `comwit apply` finalizes "
        "the hostnames.",
    ]
    return "\n".join(lines)


def render_dns_json(project: str, waiting: Sequence[WaitingHost]) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "project": project,
        "hostnames": [
            {
                "app": each.app,
                "hostname": each.host,
                "status": DOMAIN_PENDING,
                "records_known": bool(each.records),
                "records": [
                    {"type": r.record_type, "name": r.name, "value": r.value} for r in each.records
                ],
            }
            for each in waiting
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def record_lines(each: WaitingHost, indent: str = "        ") -> list[str]:
    """The records of one waiting hostname, one line each (for `status -v`)."""
    if not each.records:
        return [f"{indent}DNS records: {UNKNOWN}"]
    return [f"{indent}{r.record_type} {r.name} -> {r.value}" for r in each.records]


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
