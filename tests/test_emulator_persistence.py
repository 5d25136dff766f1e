"""State survives restarts; the embedded emulator keeps it in the directory it is given."""

import asyncio
import sqlite3

import httpx
import pytest

from comwit.api.connect import open_client
from comwit.emulator.embedded import start_embedded
from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.server import serve_in_thread
from comwit.secret import Secret

from tests.emulator_support import ALL_SCOPES, PROJECT, client, create_app, deploy, gnu_tar_zst


def test_apps_builds_tokens_and_hostnames_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with serve_in_thread(data) as emulator:
        token = emulator.issue_token(ALL_SCOPES, [PROJECT])
        with client(emulator, token) as http:
            app_id = create_app(http)
            first = deploy(http, app_id, gnu_tar_zst(tmp_path).read_bytes(), hosts="a.example.com")
            deploy(http, app_id, gnu_tar_zst(tmp_path).read_bytes())
    with serve_in_thread(data) as emulator, client(emulator, token) as http:
        apps = f"/v1/projects/{PROJECT}/apps"
        assert [a["app_id"] for a in http.get(apps).json()["apps"]] == [app_id]
        assert len(http.get(f"{apps}/{app_id}/builds").json()["builds"]) == 2
        assert (
            http.get(f"{apps}/{app_id}/domains").json()["domains"][0]["domain"] == "a.example.com"
        )
        build_id = first.json()["build_id"]
        assert emulator.store.artifact_path(build_id).is_file()
        rolled = http.post(f"{apps}/{app_id}/rollbacks", json={"build_id": build_id})
        assert rolled.status_code == 200


def test_the_embedded_emulator_serves_with_a_hidden_all_scopes_token(tmp_path):
    data = tmp_path / ".comwit" / "emulator"
    embedded = start_embedded(data, project="team")
    try:
        assert isinstance(embedded.token, Secret)
        assert str(embedded.token) == "<hidden>"
        assert "emulator" in embedded.notice
        assert embedded.url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {embedded.token.reveal()}"}
        with httpx.Client(base_url=embedded.url, headers=headers) as http:
            assert http.get("/v1/projects").json()["projects"][0]["project_id"] == "team"
            created = http.post("/v1/projects/team/apps", json={"name": "web"})
            assert created.status_code == 200
    finally:
        embedded.close()
    with start_embedded(data, project="team") as again:
        headers = {"Authorization": f"Bearer {again.token.reveal()}"}
        with httpx.Client(base_url=again.url, headers=headers) as http:
            assert [a["name"] for a in http.get("/v1/projects/team/apps").json()["apps"]] == ["web"]
            stale = {"Authorization": f"Bearer {embedded.token.reveal()}"}
            assert http.get("/v1/projects", headers=stale).status_code == 401


def test_api_url_local_runs_see_the_state_of_earlier_runs(tmp_path):
    data = tmp_path / ".comwit" / "emulator"

    async def run(scenario):
        async with open_client("local", environ={}, local_data_dir=data, project="team") as conn:
            return conn.notice, await scenario(conn.client)

    notice, _ = asyncio.run(run(lambda api: api.create_app("team", "web")))
    _, apps = asyncio.run(run(lambda api: api.list_apps("team")))
    assert "emulator" in notice
    assert [a.name for a in apps] == ["web"]


def test_a_with_block_closes_each_emulator_handle_and_the_state_stays(tmp_path):
    with start_embedded(tmp_path / "embedded", project="team") as embedded:
        assert httpx.get(f"{embedded.url}/healthz", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{embedded.url}/healthz", timeout=5)  # no longer served
    with InProcessEmulator(tmp_path / "inprocess") as emulator:
        token = emulator.issue_token(ALL_SCOPES, [PROJECT])
    with pytest.raises(sqlite3.ProgrammingError):  # its database is closed
        emulator.issue_token(ALL_SCOPES, [PROJECT])
    with InProcessEmulator(tmp_path / "inprocess") as again:
        assert again.store.authenticate(token) is not None
