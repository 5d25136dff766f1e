"""The state ledger: what content and runtime options each build that comwit deployed holds.

The API keeps no digest for a build, so comwit records `build_id -> (tree digest, env_ref,
max_concurrent_requests)` after every deploy or activation, plus the order in which it
activated builds (for drift detection and `rollback --to previous`), the source commit each
build was last made live from (so an older commit never goes live over a newer one), the
apply lease of the run working on the app, and what the manifest said that the API cannot
tell (`comwit import` writes it back): each build's `exclude` patterns, the hostnames on
managed DNS, `protect`, and fingerprints of the plain env values comwit set (a plan shows
such a live value as the old one). The ledger is advisory: a build it does not know is
"content unknown", and an unreadable value counts as empty.

It also keeps the DNS records the API answered when comwit attached a hostname that waits
for them (no read route returns them again), so `comwit dns` and `status -v` can show them.

Encoded compactly so it fits in one env var of the app ("x", "f", "c", "l", "u", "r" and "p" are
left out when empty; readers that predate them ignore them):
    {"v": 1, "b": {"build-1": ["<sha256 hex>", "env/ref"|null, 50|null, <ms>]}, "h": ["build-1"],
     "x": {"build-1": ["*.map"]}, "f": {"d": ["www.example.com"], "p": 1, "e": {"KEY": "<fp>"}},
     "c": {"build-1": ["<commit sha>", <commit time, s>|null, <dirty 0|1>]},
     "l": ["<holder>", "<CI run URL or host:pid>", <expires, ms>, "<token>"],
     "u": ["<sha256 hex>", <artifact bytes>, "<live build before>"|null, "env/ref"|null, 50|null],
     "r": {"www.example.com": [["CNAME", "www.example.com", "edge.example.net"]]},
     "p": ["<base app>", <pull request>, "<commit sha>"|null, <created, ms>, <last deployed, ms>]}

"p" is the preview mark: the app is comwit's preview of a pull request. Only apps that carry it
are ever deleted by `comwit preview down | prune`, whatever their names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import field, replace
from typing import Any

from comwit.escape import quoted
from comwit.frozen import frozen

LEDGER_VERSION = 1
DIGEST_PREFIX = "sha256:"


@frozen
class SourceCommit:
    """The commit a deploy or activation was made from."""

    sha: str
    time: int | None = None  # commit time, seconds since the epoch
    dirty: bool = False  # the working tree had changes that are not in the commit

    @property
    def short(self) -> str:
        return self.sha[:7] + ("+dirty" if self.dirty else "")


@frozen
class Upload:
    """An upload the lease holder is about to send: if the run dies after the API took it,
    the next run recognises the new live build by its size and adopts it (no second upload)."""

    digest: str
    size: int  # bytes of the artifact
    live_before: str | None  # the live build when the upload started
    env_ref: str | None = None
    max_concurrent_requests: int | None = None


@frozen
class Lease:
    """The apply run working on an app until `expires_ms`."""

    holder: str  # who: "user@host", or the CI's name for the job
    run: str  # the CI run URL, or host:pid
    expires_ms: int
    token: str  # random: tells this run's lease from another's when read back

    def live(self, now_ms: int) -> bool:
        return now_ms < self.expires_ms

    def until(self) -> str:
        """When the lease runs out, as messages name it: "14:05:09 UTC"."""
        from datetime import UTC, datetime  # only a message about a held lease needs it

        return datetime.fromtimestamp(self.expires_ms / 1000, UTC).strftime("%H:%M:%S UTC")


@frozen
class PreviewOf:
    """What a preview app is: the manifest app it previews, for this pull request."""

    base: str
    pr: int


@frozen
class PreviewMark:
    """The ownership mark of a preview app, renewed by each deploy."""

    base: str
    pr: int
    commit: str | None
    created_ms: int
    deployed_ms: int

    def renewed(self, of: PreviewOf, commit: str | None, now_ms: int) -> PreviewMark:
        # A deploy's record may be timed before the lease that marked the app was written.
        deployed = max(now_ms, self.created_ms)
        return PreviewMark(of.base, of.pr, commit or self.commit, self.created_ms, deployed)


@frozen
class LedgerEntry:
    build_id: str
    digest: str
    env_ref: str | None = None
    max_concurrent_requests: int | None = None
    recorded_at_ms: int = 0
    exclude: tuple[str, ...] = ()  # the build dir's exclude patterns when it was packed

    def holds(self, digest: str, env_ref: str | None, max_concurrent_requests: int | None) -> bool:
        """The build holds this content with these runtime options."""
        return (self.digest, self.env_ref, self.max_concurrent_requests) == (
            digest,
            env_ref,
            max_concurrent_requests,
        )


@frozen
class AppFacts:
    """What the manifest said of an app at the last apply that changed it."""

    managed_hosts: tuple[str, ...] = ()  # hostnames with dns = "managed", sorted
    protect: bool = False
    plain_env: tuple[tuple[str, str], ...] = ()  # (key, env_fingerprint(value)), sorted

    def fingerprint(self, key: str) -> str | None:
        return dict(self.plain_env).get(key)


def env_fingerprint(value: str) -> str:
    """A short fingerprint of a plain env value: tells whether the live value is still the
    one comwit set from the manifest (only such values are shown in plans)."""
    return hashlib.sha256(b"comwit-env\0" + value.encode()).hexdigest()[:16]


@frozen
class DnsRecord:
    """A record to publish before a hostname can be finalized, as the attach answered it."""

    record_type: str
    name: str
    value: str


@frozen
class RememberDnsRecords:
    """A ledger change: these are the records `host` waits for (none: forget them)."""

    host: str
    records: tuple[DnsRecord, ...]

    def __call__(self, ledger: AppLedger) -> AppLedger:
        dns = {k: v for k, v in ledger.dns.items() if k != self.host}
        if self.records:
            dns[self.host] = self.records
        return replace(ledger, dns=dict(sorted(dns.items())))


@frozen
class AppLedger:
    """One app's ledger: entries by build id, the builds comwit activated (oldest first),
    and the app's facts."""

    entries: Mapping[str, LedgerEntry] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    facts: AppFacts = field(default_factory=AppFacts)
    commits: Mapping[str, SourceCommit] = field(default_factory=dict)  # by build id
    lease: Lease | None = None
    upload: Upload | None = None  # written with the lease, cleared when it is released
    dns: Mapping[str, tuple[DnsRecord, ...]] = field(default_factory=dict)  # by hostname
    preview: PreviewMark | None = None

    @property
    def active(self) -> str | None:
        """The build comwit last activated."""
        return self.history[-1] if self.history else None

    @property
    def previous(self) -> str | None:
        """The build comwit activated before the last one (not the same build)."""
        for build_id in reversed(self.history[:-1]):
            if build_id != self.active:
                return build_id
        return None

    def get(self, build_id: str | None) -> LedgerEntry | None:
        return self.entries.get(build_id) if build_id else None

    def matching(
        self, digest: str, env_ref: str | None, max_concurrent_requests: int | None
    ) -> list[LedgerEntry]:
        """Entries holding this content and options, most recently recorded first."""
        found = [
            e for e in self.entries.values() if e.holds(digest, env_ref, max_concurrent_requests)
        ]
        return sorted(found, key=lambda e: (e.recorded_at_ms, e.build_id), reverse=True)

    def commit_of(self, build_id: str | None) -> SourceCommit | None:
        """The commit `build_id` was last made live from, when comwit recorded it."""
        return self.commits.get(build_id) if build_id else None

    def record(
        self,
        entry: LedgerEntry,
        *,
        keep: int,
        existing: Collection[str] | None = None,
        source: SourceCommit | None = None,
    ) -> AppLedger:
        """This ledger after `entry` was activated, bounded to `keep` builds.

        Builds not in `existing` (when known) are dropped: they were deleted at the API.
        """
        activated = self.record_activation(
            entry.build_id, keep=keep, existing=existing, source=source
        )
        entries = {**activated.entries, entry.build_id: entry}
        newest = sorted(entries.values(), key=lambda e: (e.recorded_at_ms, e.build_id))[-keep:]
        kept = {e.build_id for e in newest} | set(activated.history)
        return replace(
            activated,
            entries={k: entries[k] for k in sorted(entries) if k in kept},
            commits={k: v for k, v in activated.commits.items() if k in kept},
        )

    def record_activation(
        self,
        build_id: str,
        *,
        keep: int,
        existing: Collection[str] | None = None,
        source: SourceCommit | None = None,
    ) -> AppLedger:
        """This ledger after comwit activated a build whose content it does not know."""
        alive = None if existing is None else {*existing, build_id}
        history = [b for b in self.history if alive is None or b in alive]
        if not history or history[-1] != build_id:
            history.append(build_id)
        history = history[-keep:]
        entries = {k: v for k, v in self.entries.items() if alive is None or k in alive}
        commits = dict(self.commits)
        if source is not None:
            commits[build_id] = source
        kept = set(entries) | set(history)
        commits = {k: commits[k] for k in sorted(commits) if k in kept}
        return replace(self, entries=entries, history=tuple(history), commits=commits)

    def holds_record(self, build_id: str, source: SourceCommit | None) -> bool:
        """A write that recorded this activation made it into this ledger."""
        return (
            bool(self.history)
            and self.history[-1] == build_id
            and (source is None or self.commits.get(build_id) == source)
        )

    def with_lease(self, lease: Lease | None, upload: Upload | None = None) -> AppLedger:
        return replace(self, lease=lease, upload=upload)

    def adoptable(self, live: str | None, size: int | None) -> Upload | None:
        """The upload a run that died left behind, when the live build (of `size` bytes) is
        the one it made: new since the upload began, unknown to the ledger, the same size."""
        upload = self.upload
        if upload is None or live is None or live == upload.live_before or live in self.entries:
            return None
        return upload if size == upload.size else None


class LedgerFormatError(ValueError):
    """The stored value is not a ledger comwit can read."""


class NewerLedger(LedgerFormatError):
    """The ledger was written by a newer comwit (a higher version): read as empty for a
    plan, but never replaced, as what it holds (a lease, records) would be lost."""


def encode(ledger: AppLedger) -> str:
    """The compact JSON value stored for one app; deterministic."""
    builds = {
        build_id: [
            entry.digest.removeprefix(DIGEST_PREFIX),
            entry.env_ref,
            entry.max_concurrent_requests,
            entry.recorded_at_ms,
        ]
        for build_id, entry in sorted(ledger.entries.items())
    }
    document: dict[str, Any] = {"v": LEDGER_VERSION, "b": builds, "h": list(ledger.history)}
    excludes = {b: list(e.exclude) for b, e in sorted(ledger.entries.items()) if e.exclude}
    if excludes:
        document["x"] = excludes
    facts = _facts_document(ledger.facts)
    if facts:
        document["f"] = facts
    if ledger.commits:
        document["c"] = {
            build_id: [c.sha, c.time, int(c.dirty)]
            for build_id, c in sorted(ledger.commits.items())
        }
    if ledger.lease is not None:
        lease = ledger.lease
        document["l"] = [lease.holder, lease.run, lease.expires_ms, lease.token]
    if ledger.upload is not None:
        up = ledger.upload
        document["u"] = [
            up.digest.removeprefix(DIGEST_PREFIX),
            up.size,
            up.live_before,
            up.env_ref,
            up.max_concurrent_requests,
        ]
    if ledger.dns:
        document["r"] = {
            host: [[r.record_type, r.name, r.value] for r in records]
            for host, records in sorted(ledger.dns.items())
        }
    if ledger.preview is not None:
        mark = ledger.preview
        document["p"] = [mark.base, mark.pr, mark.commit, mark.created_ms, mark.deployed_ms]
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def _facts_document(facts: AppFacts) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if facts.managed_hosts:
        document["d"] = list(facts.managed_hosts)
    if facts.protect:
        document["p"] = 1
    if facts.plain_env:
        document["e"] = dict(facts.plain_env)
    return document


def decode(value: str) -> AppLedger:
    """Parse a stored ledger value; LedgerFormatError says what is wrong with it."""
    try:
        document = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise LedgerFormatError("it is not JSON") from exc
    return from_document(document)


def from_document(document: Any) -> AppLedger:
    if not isinstance(document, dict) or "v" not in document:
        raise LedgerFormatError("it is not a comwit ledger")
    if document["v"] != LEDGER_VERSION:
        newer = _is_int(document["v"]) and document["v"] > LEDGER_VERSION
        raise (NewerLedger if newer else LedgerFormatError)(
            f"it has version {quoted(document['v'])}; this comwit reads version 1"
        )
    builds, history = document.get("b"), document.get("h")
    if not isinstance(builds, dict) or not isinstance(history, list):
        raise LedgerFormatError("it lacks its builds or history")
    excludes = _excludes(document.get("x", {}))
    entries = {str(k): _entry(str(k), v, excludes.get(str(k), ())) for k, v in builds.items()}
    if not all(isinstance(b, str) for b in history):
        raise LedgerFormatError("its history is not a list of build ids")
    commits = document.get("c", {})
    if not isinstance(commits, dict):
        raise LedgerFormatError("its commits are not a table")
    return AppLedger(
        entries=entries,
        history=tuple(history),
        facts=_facts(document.get("f", {})),
        commits={str(k): _commit(str(k), v) for k, v in commits.items()},
        lease=_lease(document.get("l")),
        upload=_upload(document.get("u")),
        dns=_dns(document.get("r", {})),
        preview=_preview(document.get("p")),
    )


def _dns(value: Any) -> dict[str, tuple[DnsRecord, ...]]:
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise LedgerFormatError("its DNS records are malformed")
    found = {}
    for host, records in value.items():
        if not all(_strings(r) and len(r) == 3 for r in records):
            raise LedgerFormatError("its DNS records are malformed")
        found[str(host)] = tuple(DnsRecord(*r) for r in records)
    return found


def _preview(value: Any) -> PreviewMark | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 5:
        raise LedgerFormatError("its preview mark is malformed")
    base, pr, commit, created, deployed = value
    ints = _is_int(pr) and _is_ms(created) and _is_ms(deployed)
    if not (isinstance(base, str) and _is_str_or_none(commit) and ints):
        raise LedgerFormatError("its preview mark is malformed")
    return PreviewMark(base, pr, commit, created, deployed)


def _excludes(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(_strings(v) for v in value.values()):
        raise LedgerFormatError("its exclude patterns are malformed")
    return {str(k): tuple(v) for k, v in value.items()}


def _facts(value: Any) -> AppFacts:
    if not isinstance(value, dict):
        raise LedgerFormatError("its app facts are malformed")
    hosts, protect, env = value.get("d", []), value.get("p", 0), value.get("e", {})
    if not _strings(hosts) or protect not in (0, 1) or not isinstance(env, dict):
        raise LedgerFormatError("its app facts are malformed")
    if not all(isinstance(v, str) for v in env.values()):
        raise LedgerFormatError("its env fingerprints are malformed")
    return AppFacts(tuple(sorted(hosts)), bool(protect), tuple(sorted(env.items())))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def to_document(ledger: AppLedger) -> Any:
    document: Any = json.loads(encode(ledger))
    return document


def _entry(build_id: str, value: Any, exclude: tuple[str, ...]) -> LedgerEntry:
    if not isinstance(value, list) or len(value) != 4:
        raise LedgerFormatError(f"the entry for {build_id} is malformed")
    digest, env_ref, max_requests, recorded = value
    if not isinstance(digest, str) or not (env_ref is None or isinstance(env_ref, str)):
        raise LedgerFormatError(f"the entry for {build_id} is malformed")
    if not (max_requests is None or _is_int(max_requests)) or not _is_ms(recorded):
        raise LedgerFormatError(f"the entry for {build_id} is malformed")
    return LedgerEntry(build_id, DIGEST_PREFIX + digest, env_ref, max_requests, recorded, exclude)


def _commit(build_id: str, value: Any) -> SourceCommit:
    if not isinstance(value, list) or len(value) != 3:
        raise LedgerFormatError(f"the commit of {build_id} is malformed")
    sha, time, dirty = value
    seconds = time is None or (_is_int(time) and 0 <= time <= _LAST_MS // 1000)
    if not isinstance(sha, str) or not seconds or dirty not in (0, 1):
        raise LedgerFormatError(f"the commit of {build_id} is malformed")
    return SourceCommit(sha, time, bool(dirty))


def _upload(value: Any) -> Upload | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 5:
        raise LedgerFormatError("its upload is malformed")
    digest, size, before, env_ref, max_requests = value
    strings = isinstance(digest, str) and _is_str_or_none(before) and _is_str_or_none(env_ref)
    if not (strings and _is_int(size) and (max_requests is None or _is_int(max_requests))):
        raise LedgerFormatError("its upload is malformed")
    return Upload(DIGEST_PREFIX + digest, size, before, env_ref, max_requests)


def _lease(value: Any) -> Lease | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise LedgerFormatError("its lease is malformed")
    holder, run, expires, token = value
    if not (isinstance(holder, str) and isinstance(run, str) and isinstance(token, str)):
        raise LedgerFormatError("its lease is malformed")
    if not _is_ms(expires):
        raise LedgerFormatError("its lease is malformed")
    return Lease(holder, run, expires, token)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last time Python's dates hold


def _is_ms(value: object) -> bool:
    """A time in epoch milliseconds that a date can be made of (from 1970 to 9999)."""
    return _is_int(value) and 0 <= value <= _LAST_MS  # type: ignore[operator]


def _is_str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)
