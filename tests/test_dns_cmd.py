"""The DNS records of hostnames waiting for them: kept from the attach, shown again by
`comwit dns` and `status -v`; a plan that only waits for DNS is no change to act on."""

from __future__ import annotations

import json

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, World, populate


@pytest.fixture
def waiting(tmp_path):
    """The world of the end-to-end tests, applied, its DNS records not published yet."""
    root = tmp_path / "repo"
    root.mkdir()
    with InProcessEmulator(tmp_path / "emulator-data", auto_dns=False) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        world = populate(World(root, emulator.url, token, {}, transport=emulator.transport))
        applied = world.comwit("apply", "--yes")
        assert applied.code == 0, applied.err
        yield world


def _records(world, app="web", host="www.example.com"):
    """The records the API answers to an attach (repeating it is idempotent)."""
    app_id = world.app(app)["app_id"]
    attached = world.request(
        "POST",
        f"/v1/projects/{PROJECT}/apps/{app_id}/domains",
        json={"domain": host, "dns_mode": "external_records"},
        token=world.token,
    ).json()
    assert attached["status"] == "pending_dns"
    return [(r["record_type"], r["name"], r["value"]) for r in attached["dns_records"]]


def test_dns_shows_the_records_of_each_waiting_hostname_as_a_table(waiting):
    result = waiting.comwit("dns")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"comwit dns for project {PROJECT}: 1 hostname waiting for DNS records"
    assert lines[2].split() == ["APP", "HOSTNAME", "TYPE", "NAME", "VALUE"]
    rows = [line.split() for line in lines[3:5]]
    assert [row[:3] for row in rows] == [
        ["web", "www.example.com", "CNAME"],
        ["web", "www.example.com", "TXT"],
    ]
    assert lines[-1].startswith("Publish these records at your DNS provider")
    assert [tuple(row[2:]) for row in rows] == _records(waiting)


def test_dns_json_is_one_document_with_the_records(waiting):
    result = waiting.comwit("dns", "web", "--format", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    (host,) = document["hostnames"]
    assert (host["app"], host["hostname"], host["records_known"]) == (
        "web",
        "www.example.com",
        True,
    )
    records = [(r["type"], r["name"], r["value"]) for r in host["records"]]
    assert records == _records(waiting)


def test_dns_for_an_app_without_waiting_hostnames_says_so(waiting):
    result = waiting.comwit("dns", "api")
    assert result.code == 0
    assert result.out == f"comwit dns for project {PROJECT}: no hostname waits for DNS records.\n"
    unknown = waiting.comwit("dns", "nope")
    assert unknown.code == 1
    assert "app 'nope' is not in comwit.toml" in unknown.err


def test_status_verbose_shows_the_records_to_publish(waiting):
    plain = waiting.comwit("status")
    assert "DNS records to publish" not in plain.out
    verbose = waiting.comwit("status", "-v")
    assert verbose.code == 0, verbose.err
    assert "    DNS records to publish for www.example.com:" in verbose.out
    for record_type, name, value in _records(waiting):
        assert f"        {record_type} {name} -> {value}" in verbose.out


def test_a_plan_that_only_waits_for_dns_exits_0_and_says_so(waiting):
    plan = waiting.comwit("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "finalize hostname www.example.com" in plan.out
    assert "Only waiting for DNS records: www.example.com; exit code 0" in plan.err
    waiting.write("web/index.html", "<h1>v2</h1>")  # anything else still counts
    changed = waiting.comwit("plan", "--detailed-exitcode")
    assert changed.code == 2
    assert "Only waiting for DNS records" not in changed.err


def test_once_published_apply_finalizes_and_nothing_waits(waiting):
    waiting.admin("POST", "dns/www.example.com/publish")
    assert waiting.comwit("apply", "--yes").code == 0
    result = waiting.comwit("dns")
    assert "no hostname waits for DNS records" in result.out


def test_a_hostname_attached_outside_comwit_shows_its_records_as_unknown(waiting):
    _records(waiting, "api", "api.example.com")  # attached by another tool
    result = waiting.comwit("dns", "api", "--format", "json")
    (host,) = json.loads(result.out)["hostnames"]
    assert (host["hostname"], host["records_known"], host["records"]) == (
        "api.example.com",
        False,
        [],
    )
    assert "not known to comwit" in waiting.comwit("dns", "api").out
