"""Ledger stores: an unreadable ledger loads as empty, and an update writes over it a ledger
that reads back; with the `local` file and with the `app-env` env var of the app. A local
file that cannot be read as a whole is never written over (its other records would go)."""

from __future__ import annotations

import asyncio
import json
import stat

import pytest

from comwit.api.client import ComwitClient
from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES
from comwit.plan import LEDGER_ENV_KEY
from comwit.plan.ledger import AppLedger, LedgerEntry, decode
from comwit.secret import Secret
from comwit.store.ledger import AppEnvStore, LedgerFileError, LocalStore

from tests.factories import DIGEST_A, observed
from tests.special_files import fifo_opened_later

PROJECT = "proj"
ENTRY = LedgerEntry("b1", DIGEST_A, recorded_at_ms=1)


def _add_build(ledger: AppLedger) -> AppLedger:
    return ledger.record(ENTRY, keep=5)


def test_a_local_file_entry_that_cannot_be_read_loads_empty_and_an_update_replaces_it(tmp_path):
    path = tmp_path / "ledger.json"
    document = {"version": 1, "projects": {PROJECT: {"app-1": {"b": "not a ledger"}}}}
    path.write_text(json.dumps(document))
    store = LocalStore(path, PROJECT)
    assert asyncio.run(store.load("web", "app-1")) == AppLedger()
    updated = asyncio.run(store.update("web", "app-1", _add_build))
    assert updated == _add_build(AppLedger())
    assert asyncio.run(LocalStore(path, PROJECT).load("web", "app-1")) == updated


def test_an_env_var_ledger_that_cannot_be_read_loads_empty_and_an_update_replaces_it(tmp_path):
    with InProcessEmulator(tmp_path / "emulator") as emulator:
        token = Secret(emulator.issue_token(SCOPES, [PROJECT]))

        async def scenario() -> tuple[AppLedger, AppLedger, str]:
            async with ComwitClient(emulator.url, token, transport=emulator.transport) as client:
                app_id = (await client.create_app(PROJECT, "web")).app_id
                await client.put_env(PROJECT, app_id, LEDGER_ENV_KEY, "{not json")
                store = AppEnvStore(client, PROJECT)
                loaded = await store.load("web", app_id)
                updated = await store.update("web", app_id, _add_build)
                variables = await client.list_env(PROJECT, app_id)
                return loaded, updated, next(v.value for v in variables if v.key == LEDGER_ENV_KEY)

        loaded, updated, stored = asyncio.run(scenario())
    assert loaded == AppLedger()
    assert updated == _add_build(AppLedger()) == decode(stored)


def test_a_local_ledger_path_that_is_a_fifo_loads_empty_at_once_and_is_never_replaced(tmp_path):
    with fifo_opened_later(tmp_path / "ledger.json", "w") as fifo:
        store = LocalStore(fifo, PROJECT)
        assert asyncio.run(store.load("web", "app-1")) == AppLedger()
        assert store.read(observed("web"), None)[1] == (
            f"ledger of app 'web': {fifo} cannot be read (is a FIFO, not a regular file); "
            "treating it as empty"
        )
        with pytest.raises(LedgerFileError, match="cannot be read"):
            asyncio.run(store.update("web", "app-1", _add_build))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_local_ledger_nested_without_end_is_not_a_ledger_file(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text('{"projects": ' * 100_000 + "{}" + "}" * 100_000)
    assert LocalStore(path, PROJECT).read(observed("web"), None)[1] == (
        f"ledger of app 'web': {path} is not a comwit ledger file; treating it as empty"
    )


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2]",
        '{"version": 1, "projects": []}',
        '{"version": 1, "projects": {"proj": ["app-1"], "other": {"app-9": {}}}}',
        '{"version": 1, "projects": {"other": {"app-9": {}}}',
        b"\xff\xfe not text",
    ],
    ids=["a-list", "projects-a-list", "apps-a-list", "cut-short", "not-utf-8"],
)
def test_a_local_file_that_cannot_be_read_is_left_as_it_is(tmp_path, content):
    path = tmp_path / "ledger.json"
    before = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(before)
    store = LocalStore(path, PROJECT)
    with pytest.raises(LedgerFileError) as refused:
        store.check_writable()
    assert str(refused.value) == (
        f"{path} is not a comwit ledger file; comwit wrote nothing to it, as that would drop "
        "the records it holds: move it away (the next apply starts a new one) or point "
        "[state] path in comwit.toml at the ledger file"
    )
    with pytest.raises(LedgerFileError):
        asyncio.run(store.update("web", "app-1", _add_build))
    with pytest.raises(LedgerFileError):
        asyncio.run(store.write("web", "app-1", _add_build(AppLedger())))
    assert path.read_bytes() == before


def test_a_local_path_that_is_a_directory_is_refused_and_an_absent_file_is_created(tmp_path):
    folder = tmp_path / "ledger.json"
    folder.mkdir()
    with pytest.raises(LedgerFileError, match=r"cannot be read \(Is a directory\)"):
        LocalStore(folder, PROJECT).check_writable()
    absent = tmp_path / "state" / "new.json"
    store = LocalStore(absent, PROJECT)
    store.check_writable()
    assert asyncio.run(store.update("web", "app-1", _add_build)) == _add_build(AppLedger())
    assert list(json.loads(absent.read_text())["projects"][PROJECT]) == ["app-1"]
