"""Pending ledger records: kept on disk exactly, merged into what is read, dropped once
written or once their build is gone."""

from __future__ import annotations

import asyncio
import json

import pytest

from comwit.plan.actions import RecordLedger
from comwit.plan.ledger import AppLedger, SourceCommit
from comwit.plan.recording import Recording, from_document, to_document
from comwit.plan.state import Options
from comwit.store.ledger import LedgerFileError
from comwit.store.pending import PendingAwareStore, PendingLedgers

from tests.factories import DIGEST_A, observed

RECORD = RecordLedger(app="web", digest=DIGEST_A, options=Options("env/web", 8), exclude=("*.map",))
RECORDING = Recording(RECORD, "b2", 1234, 50, SourceCommit("abc", 99, True))


class _Store:
    """A ledger store in memory, whose writes fail while `failing` is set."""

    def __init__(self) -> None:
        self.ledgers: dict[str, AppLedger] = {}
        self.failing = False

    def check_writable(self):
        pass

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
    ['{"projects": []}', '{"projects": {"proj": [], "other": {"app-9": []}}}', "[]", "{"],
    ids=["projects-a-list", "apps-a-list", "a-list", "not-json"],
)
def test_a_foreign_pending_file_counts_as_empty_and_is_never_written_over(tmp_path, content):
    path = tmp_path / "pending.json"
    path.write_text(content)
    pending = PendingLedgers(path, "proj")
    assert pending.records("app-web") == []
    with pytest.raises(LedgerFileError) as refused:
        PendingAwareStore(_Store(), pending).check_writable()
    assert str(refused.value) == (
        f"{path} is not a comwit ledger file; comwit wrote nothing to it, as that would drop "
        "the records it holds: move it away (it holds only ledger records an earlier apply "
        "could not write yet)"
    )
    with pytest.raises(LedgerFileError):
        pending.add("app-web", RECORDING)
    assert path.read_text() == content


def test_an_apps_records_that_are_not_a_list_are_replaced_by_its_own_and_others_kept(tmp_path):
    path = tmp_path / "pending.json"
    path.write_text('{"projects": {"proj": {"app-web": 3, "app-api": ["kept as it is"]}}}')
    pending = PendingLedgers(path, "proj")
    pending.add("app-web", RECORDING)
    again = PendingLedgers(path, "proj")
    assert again.records("app-web") == [RECORDING]
    assert json.loads(path.read_text())["projects"]["proj"]["app-api"] == ["kept as it is"]


def test_records_another_run_wrote_since_they_were_read_are_not_written_again(tmp_path):
    path = tmp_path / "pending.json"
    PendingLedgers(path, "proj").add("app-web", RECORDING)
    inner = _Store()
    store = PendingAwareStore(inner, PendingLedgers(path, "proj"))
    app = observed(builds=("b2",))
    assert store.read(app, None)[0].active == "b2"  # the plan reads it pending
    PendingLedgers(path, "proj").remove("app-web", RECORDING)  # another run wrote it since
    assert asyncio.run(store.complete({"web": app})) == []
    assert inner.ledgers == {}
