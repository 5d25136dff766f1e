"""One ledger record that apply makes after a deploy or an activation, as a value.

A value, not a closure, so that a record the ledger store could not write can be kept on
disk and completed by the next run (see `comwit.store.pending`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from comwit.frozen import frozen
from comwit.plan.actions import RecordLedger
from comwit.plan.ledger import AppLedger, LedgerEntry, PreviewMark, PreviewOf, SourceCommit


@frozen
class Recording:
    """`action` for `build_id` (None: the app's facts only), made at `now_ms`."""

    action: RecordLedger
    build_id: str | None
    now_ms: int
    keep: int
    source: SourceCommit | None = None
    existing: frozenset[str] | None = None  # the app's builds when known: others are dropped

    def __call__(self, ledger: AppLedger) -> AppLedger:
        """Applied to the ledger as stored just before writing: other runs' entries stay."""
        if self.action.build and self.build_id is not None:
            ledger = self._recorded_build(ledger, self.build_id)
        if self.action.facts is not None:
            ledger = replace(ledger, facts=self.action.facts)
        if self.action.preview is not None:
            ledger = replace(ledger, preview=self._mark(ledger.preview, self.action.preview))
        return ledger

    def _mark(self, mark: PreviewMark | None, of: PreviewOf) -> PreviewMark:
        commit = self.source.sha if self.source is not None else None
        if mark is None:
            return PreviewMark(of.base, of.pr, commit, self.now_ms, self.now_ms)
        return mark.renewed(of, commit, self.now_ms)

    def holds_for(self, builds: Collection[str]) -> bool:
        """Still meaningful for an app that has `builds` (its build was not deleted)."""
        return not self.action.build or self.build_id in builds

    def _recorded_build(self, ledger: AppLedger, build_id: str) -> AppLedger:
        existing, action = self.existing, self.action
        if action.digest is None:
            return ledger.record_activation(
                build_id, keep=self.keep, existing=existing, source=self.source
            )
        entry = LedgerEntry(
            build_id,
            action.digest,
            action.options.env_ref,
            action.options.max_concurrent_requests,
            self.now_ms,
            action.exclude,
        )
        return ledger.record(entry, keep=self.keep, existing=existing, source=self.source)


def to_document(recording: Recording) -> dict[str, Any]:
    source = recording.source
    return {
        "action": recording.action.model_dump(mode="json", exclude={"id", "destructive"}),
        "build_id": recording.build_id,
        "now_ms": recording.now_ms,
        "keep": recording.keep,
        "source": None if source is None else [source.sha, source.time, source.dirty],
    }


def from_document(document: Any) -> Recording:
    """ValueError (or a pydantic ValidationError, one) when it is not a recording."""
    if not isinstance(document, dict):
        raise ValueError("not an object")
    source = document.get("source")
    build_id, now_ms, keep = document.get("build_id"), document.get("now_ms"), document.get("keep")
    if not (build_id is None or isinstance(build_id, str)):
        raise ValueError("build_id is not a string")
    if not isinstance(now_ms, int) or not isinstance(keep, int) or keep < 1:
        raise ValueError("now_ms or keep is not a number")
    commit = None
    if source is not None:
        if not (isinstance(source, list) and len(source) == 3 and isinstance(source[0], str)):
            raise ValueError("source is malformed")
        commit = SourceCommit(source[0], source[1], bool(source[2]))
    return Recording(
        RecordLedger.model_validate(document.get("action")), build_id, now_ms, keep, commit
    )
