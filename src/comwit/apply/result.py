"""What apply did, per app: done, failed (with the API's detail), skipped (with why), unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from comwit.frozen import frozen

Status = Literal["done", "failed", "skipped", "unchanged", "interrupted", "not_started"]


@frozen
class DnsRecordToPublish:
    host: str
    record_type: str
    name: str
    value: str


@frozen
class Outcome:
    app: str
    status: Status
    detail: str = ""
    steps: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # hostnames waiting for their DNS records
    records: tuple[DnsRecordToPublish, ...] = ()
    build_id: str | None = None  # the build this run made live
    uploaded: int = 0  # artifact bytes sent
    url: str | None = None  # where the app is live (the API's default_url, or a hostname)
    warnings: tuple[str, ...] = ()
    bug: bool = False  # failed on an error comwit did not expect (exit code 3)


def live_url(default_url: str | None, active_hosts: Iterable[str]) -> str | None:
    """The app's URL: the API's `default_url`, else its first active hostname."""
    if default_url:
        return default_url
    first = min(active_hosts, default=None)
    return f"https://{first}" if first else None


@frozen
class ApplyResult:
    outcomes: tuple[Outcome, ...] = ()
    hints: tuple[str, ...] = ()  # what to know next, in lines (after a rollback: how to keep it)
    exit_code: int | None = None  # set when a signal stopped the apply (130, 143)

    @property
    def ok(self) -> bool:
        return all(o.status in ("done", "unchanged") for o in self.outcomes)

    @property
    def changed(self) -> bool:
        """Some app was changed (the summary counts it done, or stopped part-way)."""
        return any(o.status == "done" or o.steps for o in self.outcomes)

    @property
    def bug(self) -> bool:
        return any(o.bug for o in self.outcomes)

    @property
    def uploaded(self) -> int:
        return sum(o.uploaded for o in self.outcomes)

    @property
    def urls(self) -> dict[str, str]:
        """Each app's live URL, by app, for the apps that have one."""
        return {o.app: o.url for o in self.outcomes if o.url}
