"""Ledger stores: an unreadable ledger loads as empty, and an update writes over it a ledger
that reads back; with the `local` file and with the `app-env` env var of the app."""

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
from comwit.store.ledger import AppEnvStore, LocalStore
from comwit.store.regular import NotRegularFile

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
            f"ledger of app 'web': cannot read {fifo} (is a FIFO, not a regular file); "
            "treating it as empty"
        )
        with pytest.raises(NotRegularFile):
            asyncio.run(store.update("web", "app-1", _add_build))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_local_ledger_nested_without_end_is_not_a_ledger_file(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text('{"projects": ' * 100_000 + "{}" + "}" * 100_000)
    assert LocalStore(path, PROJECT).read(observed("web"), None)[1] == (
        f"ledger of app 'web': {path} is not a comwit ledger file; treating it as empty"
    )
