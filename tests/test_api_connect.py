"""open_client: from options and environment to an open client, remote or embedded."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from comwit.api.connect import open_client
from comwit.errors import ComwitError, CredentialsError

TOKEN = "cwt_c0ffee"


def connect(api_url, environ, tmp_path, *, project=None, transport=None, then=None):
    """Open a connection, run `then(connection)` in it, return what it gives."""

    async def go():
        async with open_client(
            api_url,
            environ=environ,
            local_data_dir=tmp_path / "emulator",
            project=project,
            transport=transport,
        ) as connection:
            return await then(connection) if then else connection

    return asyncio.run(go())


def test_a_remote_url_uses_the_environment_token(tmp_path):
    router = respx.Router(base_url="https://api.test", assert_all_mocked=True)
    route = router.get("/v1/projects").respond(json={"projects": []})

    async def list_projects(connection):
        return connection, await connection.client.list_projects()

    transport = httpx.MockTransport(router.async_handler)
    environ = {"COMWIT_TOKEN": TOKEN, "COMWIT_API_URL": "https://api.test/"}
    connection, projects = connect(None, environ, tmp_path, transport=transport, then=list_projects)
    assert projects == ()
    assert (connection.base_url, connection.local, connection.notice) == (
        "https://api.test",
        False,
        None,
    )
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_the_timeout_comes_from_the_environment(tmp_path):
    async def timeout(connection):
        return connection.client.timeout

    environ = {"COMWIT_TOKEN": TOKEN, "COMWIT_TIMEOUT": "2"}
    assert connect("https://api.test", environ, tmp_path, then=timeout) == 2.0


def test_a_remote_url_without_a_token_is_a_credentials_error(tmp_path):
    with pytest.raises(CredentialsError, match="no Comwit token found"):
        connect("https://api.test", {"HOME": str(tmp_path)}, tmp_path)


def test_the_local_emulator_needs_a_project(tmp_path):
    with pytest.raises(CredentialsError, match="needs a project id"):
        connect("local", {}, tmp_path)


@pytest.mark.parametrize("project", ["a\nb", "\udcff", "x" * 1000, "../up"])
def test_the_local_emulator_refuses_a_project_id_it_cannot_hold_and_keeps_its_state(
    tmp_path, project
):
    with pytest.raises(CredentialsError) as raised:
        connect("local", {}, tmp_path, project=project)
    message = str(raised.value)
    assert message.startswith("the local emulator takes project ids of 1-63 letters, digits")
    assert message.endswith(
        "pass another --project or COMWIT_PROJECT, or fix `project` in comwit.toml"
    )
    assert "\n" not in message and len(message) < 300
    assert not (tmp_path / "emulator").exists()  # nothing to fix or remove there


def test_the_local_emulator_needs_no_token_and_answers_over_loopback(tmp_path):
    async def look(connection):
        client = connection.client
        return connection, await client.healthz(), await client.list_projects()

    connection, healthy, projects = connect("local", {}, tmp_path, project="demo", then=look)
    assert connection.local
    assert connection.base_url.startswith("http://127.0.0.1:")
    assert "local Comwit emulator" in (connection.notice or "")
    assert healthy
    assert [p.project_id for p in projects] == ["demo"]


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (
            lambda state: state.write_text("a file"),
            "{state} is a file, not a directory); fix or remove it",
        ),
        (
            lambda state: (state.mkdir(), (state / "emulator.sqlite3").write_bytes(b"x" * 200)),
            "file is not a database); fix or remove it",
        ),
    ],
    ids=["a file", "not a database"],
)
def test_local_emulator_state_that_cannot_be_used_says_to_fix_or_remove_it(tmp_path, spoil, why):
    state = tmp_path / "emulator"
    spoil(state)
    with pytest.raises(ComwitError) as raised:
        connect("local", {}, tmp_path, project="demo")
    assert str(raised.value) == (
        f"the emulator cannot keep its state in {state} ({why.format(state=state)}"
    )  # no --data to pass: the commands that start it have none
