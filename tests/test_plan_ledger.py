"""The ledger: its compact encoding, its bounds, and stores that never crash on bad values."""

from __future__ import annotations

import asyncio
import json

import pytest

from comwit.api.client import ComwitClient
from comwit.plan.ledger import (
    AppFacts,
    AppLedger,
    Lease,
    LedgerEntry,
    LedgerFormatError,
    SourceCommit,
    decode,
    encode,
)
from comwit.secret import Secret
from comwit.store.ledger import AppEnvStore, LocalStore, NewerLedgerError

from tests.factories import DIGEST_A, DIGEST_B, observed


def entry(build: str, digest: str = DIGEST_A, at: int = 0) -> LedgerEntry:
    return LedgerEntry(build, digest, "env/ref", 50, at)


def test_encoding_round_trips_and_is_compact_and_deterministic():
    ledger = (
        AppLedger()
        .record(entry("b1", DIGEST_A, 1), keep=10)
        .record(entry("b2", DIGEST_B, 2), keep=10)
    )
    text = encode(ledger)
    assert decode(text) == ledger
    assert text == encode(decode(text))
    assert json.loads(text)["h"] == ["b1", "b2"]
    assert "sha256:" not in text


def test_record_keeps_at_most_keep_builds_and_the_history_bounded():
    ledger = AppLedger()
    for i in range(30):
        ledger = ledger.record(entry(f"b{i:02d}", at=i), keep=5)
    assert sorted(ledger.entries) == ["b25", "b26", "b27", "b28", "b29"]
    assert ledger.history == ("b25", "b26", "b27", "b28", "b29")
    assert len(encode(ledger)) < 1000


def test_builds_deleted_at_the_api_are_dropped():
    ledger = AppLedger().record(entry("b1", at=1), keep=10).record(entry("b2", at=2), keep=10)
    ledger = ledger.record(entry("b3", at=3), keep=10, existing={"b2"})
    assert sorted(ledger.entries) == ["b2", "b3"]
    assert ledger.history == ("b2", "b3")


def test_active_and_previous_follow_activations():
    ledger = AppLedger()
    for build in ("b1", "b2", "b1"):
        ledger = ledger.record(entry(build), keep=10)
    assert (ledger.active, ledger.previous) == ("b1", "b2")


def test_an_activation_of_unknown_content_enters_the_history_only():
    ledger = AppLedger().record(entry("b1"), keep=10).record_activation("b9", keep=10)
    assert ledger.active == "b9"
    assert ledger.get("b9") is None


def test_excludes_and_facts_round_trip_and_an_older_ledger_reads_without_them():
    excluded = LedgerEntry("b1", DIGEST_A, exclude=("*.map", "node_modules/"))
    facts = AppFacts(managed_hosts=("www.example.com",), protect=True, plain_env=(("K", "f"),))
    ledger = AppLedger().record(excluded, keep=10).record(LedgerEntry("b2", DIGEST_B), keep=10)
    ledger = AppLedger(ledger.entries, ledger.history, facts)
    document = json.loads(encode(ledger))
    assert document["x"] == {"b1": ["*.map", "node_modules/"]}
    assert document["f"] == {"d": ["www.example.com"], "p": 1, "e": {"K": "f"}}
    assert decode(encode(ledger)) == ledger
    del document["x"], document["f"]
    older = decode(json.dumps(document))
    assert older.facts == AppFacts()
    assert older.entries["b1"].exclude == ()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("not json", "it is not JSON"),
        ('"a string"', "it is not a comwit ledger"),
        ('{"v": 2, "b": {}, "h": []}', "it has version 2"),
        ('{"v": 1, "b": [], "h": []}', "it lacks its builds or history"),
        ('{"v": 1, "b": {"b1": ["x", null]}, "h": []}', "the entry for b1 is malformed"),
        ('{"v": 1, "b": {}, "h": [1]}', "its history is not a list of build ids"),
        ('{"v": 1, "b": {}, "h": [], "x": {"b1": "*.map"}}', "exclude patterns are malformed"),
        ('{"v": 1, "b": {}, "h": [], "f": {"p": 2}}', "its app facts are malformed"),
    ],
)
def test_foreign_values_are_refused_with_a_reason(value, why):
    with pytest.raises(LedgerFormatError, match=why):
        decode(value)


def test_app_env_store_turns_an_unreadable_value_into_a_warning_and_an_empty_ledger():
    ledger, warning = AppEnvStore(None, "demo").read(observed(), "{oops")
    assert ledger == AppLedger()
    assert warning == (
        "ledger of app 'web' in env var COMWIT_LEDGER is unreadable (it is not JSON); "
        "treating it as empty"
    )


def test_a_ledger_of_a_newer_comwit_is_read_as_empty_but_never_replaced(tmp_path):
    newer = '{"v": 2, "builds": {}, "lease": "held by a newer comwit"}'
    ledger, warning = AppEnvStore(None, "demo").read(observed(), newer)
    assert ledger == AppLedger()  # a plan shows the app as comwit knows nothing of it
    assert warning == (
        "ledger of app 'web' in env var COMWIT_LEDGER was written by a newer comwit (it has "
        "version 2; this comwit reads version 1); this comwit plans the app as if it knew "
        "nothing of it, and will not change it: upgrade comwit"
    )
    path = tmp_path / "ledger.json"
    path.write_text(
        json.dumps({"version": 1, "projects": {"demo": {"app-web": json.loads(newer)}}})
    )
    store = LocalStore(path, "demo")
    with pytest.raises(NewerLedgerError, match="was written by a newer comwit"):
        asyncio.run(store.update("web", "app-web", lambda now: now.record(entry("b1"), keep=10)))
    assert json.loads(path.read_text())["projects"]["demo"]["app-web"] == json.loads(newer)


def test_local_store_writes_atomically_and_reads_back(tmp_path):
    path = tmp_path / "state" / "ledger.json"
    store = LocalStore(path, "demo")
    ledger = AppLedger().record(entry("b1"), keep=10)
    asyncio.run(store.write("web", "app-web", ledger))
    assert LocalStore(path, "demo").read(observed(), None) == (ledger, None)
    assert LocalStore(path, "other").read(observed(), None) == (AppLedger(), None)
    assert sorted(p.name for p in path.parent.iterdir()) == ["ledger.json", "ledger.json.lock"]


def test_local_stores_of_concurrent_runs_keep_each_others_entries(tmp_path):
    path = tmp_path / "ledger.json"
    first, second = LocalStore(path, "demo"), LocalStore(path, "demo")
    web, api = AppLedger().record(entry("b1"), keep=10), AppLedger().record(entry("b2"), keep=10)
    asyncio.run(first.write("web", "app-web", web))
    asyncio.run(second.write("api", "app-api", api))
    document = json.loads(path.read_text())
    assert sorted(document["projects"]["demo"]) == ["app-api", "app-web"]


def test_local_store_with_a_foreign_file_warns_and_counts_as_empty(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("[1, 2]")
    ledger, warning = LocalStore(path, "demo").read(observed(), None)
    assert ledger == AppLedger()
    assert (
        warning == f"ledger of app 'web': {path} is not a comwit ledger file; treating it as empty"
    )


# -- source commits, the lease, and updates that merge and verify ----------------------

COMMIT = SourceCommit("c" * 40, 1_700_000_000, dirty=True)
LEASE = Lease("ci@runner", "https://ci.example/run/7", 1_700_000_060_000, "tok")


def test_commits_and_the_lease_round_trip_and_a_ledger_without_them_still_reads():
    ledger = AppLedger().record(entry("b1"), keep=10, source=COMMIT).with_lease(LEASE)
    text = encode(ledger)
    assert decode(text) == ledger
    assert json.loads(text)["c"] == {"b1": ["c" * 40, 1_700_000_000, 1]}
    assert json.loads(text)["l"] == [
        "ci@runner",
        "https://ci.example/run/7",
        1_700_000_060_000,
        "tok",
    ]
    old = '{"v":1,"b":{"b1":["' + "a" * 64 + '","env/ref",50,0]},"h":["b1"]}'
    assert decode(old) == AppLedger().record(entry("b1"), keep=10)


def test_an_activation_records_its_commit_and_builds_that_are_dropped_lose_theirs():
    ledger = AppLedger().record_activation("b1", keep=2, source=COMMIT)
    assert ledger.commit_of("b1") == COMMIT
    for build in ("b2", "b3"):
        ledger = ledger.record(entry(build), keep=2)
    assert ledger.commit_of("b1") is None
    assert sorted(ledger.commits) == []


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('{"v": 1, "b": {}, "h": [], "c": []}', "its commits are not a table"),
        ('{"v": 1, "b": {}, "h": [], "c": {"b1": ["x", "soon", 0]}}', "the commit of b1"),
        ('{"v": 1, "b": {}, "h": [], "l": ["who", "run", "later", "t"]}', "its lease"),
        ('{"v": 1, "b": {}, "h": [], "u": ["ab", 10, null, null]}', "its upload"),
        ('{"v": 1, "b": {}, "h": [], "u": ["ab", true, null, null, null]}', "its upload"),
        ('{"v": 1, "b": {}, "h": [], "u": ["ab", 10, 7, null, null]}', "its upload"),
        ('{"v": 1, "b": {}, "h": [], "u": ["ab", 10, null, null, "50"]}', "its upload"),
        ('{"v": 1, "b": {}, "h": [], "p": ["web", 7, null, 1]}', "its preview mark"),
        ('{"v": 1, "b": {}, "h": [], "p": ["web", 7, 3, 1, 2]}', "its preview mark"),
        ('{"v": 1, "b": {}, "h": [], "p": ["web", "7", null, 1, 2]}', "its preview mark"),
        # Times no date holds (year 10000, before 1970): `unlock` and `builds` crashed on them.
        ('{"v": 1, "b": {}, "h": [], "l": ["w", "r", 253402300800000, "t"]}', "its lease"),
        ('{"v": 1, "b": {}, "h": [], "l": ["w", "r", -1, "t"]}', "its lease"),
        ('{"v": 1, "b": {"b1": ["ab", null, null, 100000000000000000000]}, "h": []}', "b1"),
        ('{"v": 1, "b": {}, "h": [], "p": ["web", 7, null, -100000000000000000000, 2]}', "mark"),
        ('{"v": 1, "b": {}, "h": [], "p": ["web", 7, null, 1, 253402300800000]}', "mark"),
        ('{"v": 1, "b": {}, "h": [], "c": {"b1": ["x", 253402300800, 0]}}', "the commit of b1"),
    ],
)
def test_malformed_commits_leases_uploads_and_preview_marks_are_refused(value, why):
    with pytest.raises(LedgerFormatError, match=why):
        decode(value)


def _two_runs_record(store_of):
    """Two runs read the same ledger, then each records its own build: both are kept."""
    first, second = store_of(), store_of()

    async def main():
        base = AppLedger().record(entry("b0"), keep=10)
        await first.write("web", "app-web", base)
        # Both runs planned against `base`; each records a different build.
        await first.update(
            "web", "app-web", lambda ledger: ledger.record(entry("b1", at=1), keep=10)
        )
        await second.update(
            "web", "app-web", lambda ledger: ledger.record(entry("b2", at=2), keep=10)
        )
        return await first.load("web", "app-web")

    return asyncio.run(main())


def test_local_updates_of_two_runs_keep_both_builds(tmp_path):
    merged = _two_runs_record(lambda: LocalStore(tmp_path / "ledger.json", "demo"))
    assert sorted(merged.entries) == ["b0", "b1", "b2"]
    assert merged.history == ("b0", "b1", "b2")


def test_app_env_updates_of_two_runs_keep_both_builds(emulator, emulator_token):
    from tests.emulator_support import PROJECT, client, create_app

    with client(emulator, emulator_token) as http:
        app_id = create_app(http, "web")

    async def main():
        async with ComwitClient(emulator.url, Secret(emulator_token)) as api:
            stores = [AppEnvStore(api, PROJECT), AppEnvStore(api, PROJECT)]
            base = AppLedger().record(entry("b0"), keep=10)
            await stores[0].write("web", app_id, base)
            for store, build in zip(stores, ("b1", "b2"), strict=True):
                await store.update(
                    "web", app_id, lambda ledger, b=build: ledger.record(entry(b), keep=10)
                )
            return await stores[1].load("web", app_id)

    merged = asyncio.run(main())
    assert sorted(merged.entries) == ["b0", "b1", "b2"]


def test_dns_records_of_a_waiting_hostname_round_trip_and_are_forgotten_on_request():
    from comwit.plan.ledger import DnsRecord, RememberDnsRecords

    records = (DnsRecord("CNAME", "www.example.com", "edge.example.net"),)
    ledger = RememberDnsRecords("www.example.com", records)(AppLedger())
    assert decode(encode(ledger)).dns == {"www.example.com": records}
    assert '"r":{"www.example.com":[["CNAME","www.example.com","edge.example.net"]]}' in encode(
        ledger
    )
    assert RememberDnsRecords("www.example.com", ())(ledger).dns == {}
    assert '"r"' not in encode(AppLedger())
