"""End to end: `comwit doctor` against the emulator is all ok; against one that plays an
assumption differently it names exactly that difference and exits 1. Read-only always."""

from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.api.retry import NO_RETRY
from comwit.doctor.probes import Target, diagnose
from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.settings import Assumptions, Settings
from comwit.emulator.store import SCOPES
from comwit.secret import Secret

from tests.e2e_support import PROJECT, FakeTime, World, populate


def _world(tmp_path, settings):
    root = tmp_path / "repo"
    root.mkdir()
    emulator = InProcessEmulator(tmp_path / "emulator-data", settings=settings)
    token = emulator.issue_token(SCOPES, [PROJECT])
    made = World(root, emulator.url, token, {}, transport=emulator.transport)
    return populate(made), emulator


@pytest.fixture
def playing(tmp_path):
    """A world whose emulator plays the given assumptions differently."""
    opened = []

    def make(**assumptions):
        made, emulator = _world(tmp_path, Settings(assumptions=Assumptions(**assumptions)))
        opened.append(emulator)
        return made

    yield make
    for emulator in opened:
        emulator.close()


def test_doctor_against_the_emulator_is_all_ok_and_changes_nothing(world):
    assert world.comwit("apply", "--yes").code == 0
    world.reset_stats()
    result = world.comwit("doctor")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert [line for line in lines if not _is_ok(line)] == []
    assert lines[:3] == [lines[0], "ready (GET /readyz): ok", lines[2]]
    assert lines[0].startswith("reachable (GET /healthz): ok (")
    assert "token: ok (accepted; app:deploy and app:write cannot be checked" in result.out
    assert "reads of app " in result.out and "(builds, hostnames, env vars, logs): ok" in result.out
    assert "spec: POST /v1/projects/{project_id}/apps/{app_id}/rollbacks: ok" in lines
    assert world.stats()["mutating"] == 0


def test_doctor_names_a_renamed_rollback_field_and_exits_1(playing):
    world = playing(rollback_body_field="build")
    assert world.comwit("apply", "--yes").code == 0
    result = world.comwit("doctor")
    assert result.code == 1
    assert [line for line in result.out.splitlines() if not _is_ok(line)] == [
        "spec: POST /v1/projects/{project_id}/apps/{app_id}/rollbacks: differs: the request "
        "body has no field 'build_id' (ROLLBACK_BODY_FIELD); it has: 'build'"
    ]


def test_doctor_says_a_flat_get_app_is_fine_and_403_for_bad_tokens_is_coped_with(playing):
    world = playing(app_envelope=None, status_unauthenticated=403)
    result = world.comwit("doctor")
    assert result.code == 0, result.out
    assert "it answers the app flat, not in 'app' (APP_ENVELOPE); comwit reads both" in result.out
    assert "comwit gives a refused token's 403 the same advice" in result.out


def test_doctor_as_json_lists_every_check(world):
    result = world.comwit("doctor", "--format", "json")
    document = json.loads(result.out)
    assert result.code == 0 and document["ok"] is True
    states = {c["check"]: c["state"] for c in document["checks"]}
    assert states["ready (GET /readyz)"] == "ok"
    assert states["reads of an app"] == "unknown"  # nothing applied yet


def test_doctor_without_a_token_says_so_and_exits_1(world):
    world.reset_stats()
    result = world.comwit("doctor", env={"COMWIT_TOKEN": ""})
    assert result.code == 1
    assert "token: differs: none found: set COMWIT_TOKEN" in result.out
    assert "spec: GET /v1/projects: ok" in result.out
    assert world.stats()["total"] == 3  # /healthz, /readyz, /openapi.json


def test_doctor_of_the_local_emulator_uses_the_manifests_state_and_needs_a_manifest(world):
    result = world.comwit("doctor", "--api-url", "local")
    assert "spec: GET /v1/projects: ok" in result.out, result.out + result.err
    assert (world.root / ".comwit" / "emulator").is_dir()
    shutil.rmtree(world.root / ".comwit" / "emulator")
    (world.root / "comwit.toml").unlink()
    result = world.comwit("doctor", "--api-url", "local")
    assert result.code == 1
    assert result.err.strip() == (
        "error: --api-url local needs a manifest (its .comwit/emulator state)"
    )
    assert not (world.root / ".comwit" / "emulator").exists()


def test_doctor_says_the_manifests_own_error_for_a_broken_one_or_an_unknown_env(world):
    """A broken manifest found here, or a misspelled --env, passed the doctor (exit 0) with
    "project: unknown": a pre-flight that never checked the project it was meant to."""
    (world.root / "comwit.toml").write_text(
        (world.root / "comwit.toml").read_text() + '\n[environments.staging]\nproject = "x"\n'
    )
    typo = world.comwit("doctor", "--env", "stagng")
    assert (typo.code, typo.out) == (1, "")
    assert typo.err.startswith("error: comwit.toml:1:1: --env 'stagng': unknown environment")
    (world.root / "comwit.toml").write_text('version = 1\nproject = "oops\n')
    for api_url in ((), ("--api-url", "local")):
        broken = world.comwit("doctor", *api_url)
        assert (broken.code, broken.out) == (1, ""), broken.err
        assert broken.err.startswith("error: comwit.toml:2:"), broken.err
        assert "invalid TOML" in broken.err
    (world.root / "comwit.toml").unlink()
    nowhere = world.comwit("doctor", "--env", "staging")
    assert nowhere.code == 1
    assert "comwit.toml: not found in" in nowhere.err


def test_doctor_on_a_missing_project_or_refused_token_exits_1(world):
    missing = world.comwit("doctor", "--project", "elsewhere")
    assert missing.code == 1
    assert "project elsewhere (GET /v1/projects/elsewhere/apps, scope app:read): differs: " in (
        missing.out
    )
    refused = world.comwit("doctor", env={"COMWIT_TOKEN": "cwt_" + "0" * 40})
    assert refused.code == 1
    assert "token: differs: refused (401)" in refused.out
    assert "cwt_0000" not in refused.out + refused.err


def test_doctor_on_a_service_without_listing_or_managed_dns_is_ok_for_a_plain_manifest(tmp_path):
    settings = Settings(project_listing=501, managed_dns=False)
    world, emulator = _world(tmp_path, settings)
    with emulator:
        result = world.comwit("doctor")
    assert result.code == 0, result.out
    assert "scope project:read (GET /v1/projects): unknown (listing is not enabled for this " in (
        result.out
    )
    assert "managed DNS (GET /v1/projects/proj/domains): unknown (not enabled (501)" in result.out


def test_doctor_repeats_no_request_and_waits_for_nothing(world):
    world.admin("POST", "faults/fail", {"route": "healthz", "count": 1, "status": 502})
    world.reset_stats()
    now = FakeTime()
    result = world.comwit("doctor", clock=now, sleep=now.sleep)
    assert result.code == 1
    assert result.out.startswith("reachable (GET /healthz): differs: ")
    assert now.slept == []
    assert world.stats()["total"] == 1


def test_doctor_of_an_unreachable_api_says_so_in_one_check():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    async def run():
        transport = httpx.MockTransport(refuse)
        client = ComwitClient(
            "https://api.test", Secret("cwt_0a"), transport=transport, retry=NO_RETRY
        )
        async with client as c:
            return await diagnose(c, Target("proj"))

    findings = asyncio.run(run())
    assert [f.state for f in findings] == ["differs", "unknown"]
    assert "could not connect to api.test" in findings[0].detail


def _is_ok(line: str) -> bool:
    bad = (": differs: ", ": unknown")
    return (line.endswith(": ok") or ": ok (" in line) and not any(b in line for b in bad)
