"""Pending ledger records: kept on disk exactly, merged into what is read, dropped once
written or once their build is gone."""

from __future__ import annotations

import asyncio

import pytest

from comwit.plan.actions import RecordLedger
from comwit.plan.ledger import AppLedger, SourceCommit
from comwit.plan.recording import Recording, from_document, to_document
from comwit.plan.state import Options
from comwit.store.pending import PendingAwareStore, PendingLedgers

from tests.factories import DIGEST_A, observed

RECORD = RecordLedger(app="web", digest=DIGEST_A, options=Options("env/web", 8), exclude=("*.map",))
RECORDING = Recording(RECORD, "b2", 1234, 50, SourceCommit("abc", 99, True))


class _Store:
    """A ledger store in memory, whose writes fail while `failing` is set."""

    def __init__(self) -> None:
        self.ledgers: dict[str, AppLedger] = {}
        self.failing = False

    def read(self, app, env_value):
        return self.ledgers.get(app.app_id, AppLedger()), None

    async def write(self, app, app_id, ledger):
        if self.failing:
            raise OSError("disk full")
        self.ledgers[app_id] = ledger

    async def load(self, app, app_id):
        return self.ledgers.get(app_id, AppLedger())

    async def update(self, app, app_id, change, check=None):
        await self.write(app, app_id, change(await self.load(app, app_id)))
        return self.ledgers[app_id]


def test_a_recording_reads_back_as_it_was_written():
    assert from_document(to_document(RECORDING)) == RECORDING


def test_a_failed_write_is_kept_merged_into_reads_and_completed_later(tmp_path):
    inner = _Store()
    store = PendingAwareStore(inner, PendingLedgers(tmp_path / "pending.json", "proj"))
    app = observed(builds=("b2",))
    inner.failing = True
    with pytest.raises(OSError, match=r"kept in .*pending\.json, the next apply records it"):
        asyncio.run(store.update("web", "app-web", RECORDING))
    ledger, _ = store.read(app, None)
    assert ledger.get("b2").digest == DIGEST_A
    assert ledger.active == "b2"
    inner.failing = False
    assert asyncio.run(store.complete({"web": app})) == []
    assert inner.ledgers["app-web"].get("b2").exclude == ("*.map",)
    assert PendingLedgers(tmp_path / "pending.json", "proj").records("app-web") == []


def test_a_pending_record_of_a_deleted_build_is_dropped(tmp_path):
    pending = PendingLedgers(tmp_path / "pending.json", "proj")
    pending.add("app-web", RECORDING)
    pending.add("app-web", RECORDING)  # kept once
    assert len(pending.records("app-web")) == 1
    store = PendingAwareStore(_Store(), pending)
    gone = observed(builds=("b9",))
    assert store.read(gone, None)[0] == AppLedger()
    assert asyncio.run(store.complete({"web": gone})) == []
    assert pending.records("app-web") == []


@pytest.mark.parametrize(
    "content",
    [
        '{"projects": []}',
        '{"projects": {"proj": []}}',
        '{"projects": {"proj": {"app-web": 3}}}',
        "[]",
        "{",
    ],
    ids=["projects-a-list", "apps-a-list", "records-a-number", "a-list", "not-json"],
)
def test_a_foreign_pending_file_counts_as_empty_and_is_replaced_when_written(tmp_path, content):
    path = tmp_path / "pending.json"
    path.write_text(content)
    pending = PendingLedgers(path, "proj")
    assert pending.records("app-web") == []
    pending.add("app-web", RECORDING)
    assert pending.records("app-web") == [RECORDING]
    pending.remove("app-web", RECORDING)
    assert pending.records("app-web") == []
