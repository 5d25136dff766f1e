"""An app's log: every page read, oldest first; following it shows each new line once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from comwit.api.client import ComwitClient
from comwit.api.models import DEFAULT_TAIL, LogQuery
from comwit.emulator.app import create_app
from comwit.emulator.settings import Settings
from comwit.emulator.store import SCOPES, Store
from comwit.errors import ApiError
from comwit.logs import FOLLOW_INTERVAL, follow_logs, read_logs
from comwit.render.logs import log_json, log_text
from comwit.secret import Secret

from tests.emulator_support import PROJECT


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "emulator")
    yield opened
    opened.close()


def _run(store, scenario, page_size=3, assumptions=None):
    """`scenario(client, app_id)` against the emulator in this process (no sockets)."""
    played = {} if assumptions is None else {"assumptions": assumptions}
    app = create_app(store, Settings(logs_page_size=page_size, **played))
    token = Secret(store.issue_token(SCOPES, [PROJECT]))

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with ComwitClient("http://emulator.test", token, transport=transport) as client:
            created = await client.create_app(PROJECT, "web")
            return await scenario(client, created.app_id)

    return asyncio.run(go())


async def _set(client, app_id, *keys):
    for key in keys:
        await client.put_env(PROJECT, app_id, key, "v")


def test_read_logs_follows_every_page_and_returns_them_oldest_first(store):
    async def scenario(client, app_id):
        await _set(client, app_id, "A", "B", "C", "D", "E", "F", "G")
        return await read_logs(client, PROJECT, app_id, LogQuery())

    lines = _run(store, scenario)
    assert [line.message for line in lines] == ["app web created"] + [
        f"env var {key} set" for key in "ABCDEFG"
    ]


def test_an_api_that_ignores_the_page_token_is_an_error_not_a_page_shown_twice(store):
    """It answered the first page again: 50 lines printed as 100, the older ones never."""
    from comwit.emulator.settings import Assumptions, parse_assumption

    async def scenario(client, app_id):
        await _set(client, app_id, "A", "B", "C", "D", "E", "F", "G")
        return await read_logs(client, PROJECT, app_id, LogQuery())

    cursor = parse_assumption("LOGS_PAGE_TOKEN_PARAM=cursor", Assumptions())
    with pytest.raises(ApiError) as raised:
        _run(store, scenario, assumptions=cursor)
    assert str(raised.value).startswith(
        "the API answered a page of logs already read, for the page token it gave; it does "
        "not take `page_token` as comwit assumes"
    )


def test_an_api_that_ignores_the_page_token_but_gives_a_new_one_each_time_is_an_error():
    """A fresh opaque token on every answer, and the first page again each time: 50 lines
    were shown as the whole tail, the same ones over and over."""
    tokens = iter(range(10**6))
    line = {"timestamp": "2026-12-04T00:00:00Z", "level": "info", "app_id": "app-1"}

    def answer(request):
        lines = [line | {"message": f"line {n}"} for n in (3, 2)]
        return httpx.Response(200, json={"logs": lines, "next_page_token": f"t{next(tokens)}"})

    async def go():
        transport = httpx.MockTransport(answer)
        async with ComwitClient("http://api.test", Secret("cwt_x"), transport=transport) as client:
            return await read_logs(client, PROJECT, "app-1", LogQuery(tail=100))

    with pytest.raises(ApiError, match="the API answered a page of logs already read"):
        asyncio.run(go())


def test_read_logs_stops_at_tail(store):
    async def scenario(client, app_id):
        await _set(client, app_id, "A", "B", "C", "D", "E")
        return await read_logs(client, PROJECT, app_id, LogQuery(tail=4))

    assert [line.message for line in _run(store, scenario)] == [
        f"env var {key} set" for key in "BCDE"
    ]


def test_a_page_asked_without_tail_and_read_logs_by_default_stop_at_the_same_tail(store):
    keys = [f"K{i:03}" for i in range(DEFAULT_TAIL + 5)]

    async def scenario(client, app_id):
        await _set(client, app_id, *keys)
        page = await client.list_logs(PROJECT, app_id)  # no tail: the route's own default
        return page, await read_logs(client, PROJECT, app_id, LogQuery())

    page, lines = _run(store, scenario, page_size=1000)
    assert len(page.logs) == len(lines) == DEFAULT_TAIL
    assert lines[-1].message == f"env var {keys[-1]} set"


def test_follow_shows_the_tail_then_each_new_line_once_until_its_time_is_up(store):
    shown: list[str] = []
    now = [0.0]

    async def scenario(client, app_id):
        polls = iter([("X",), (), ("Y", "Z")])

        async def sleep(seconds):
            assert seconds == FOLLOW_INTERVAL
            now[0] += seconds
            await _set(client, app_id, *next(polls, ()))

        return await follow_logs(
            client,
            PROJECT,
            app_id,
            LogQuery(),
            lambda line: shown.append(line.message),
            seconds=3 * FOLLOW_INTERVAL,
            sleep=sleep,
            clock=lambda: now[0],
        )

    count = _run(store, scenario)
    assert shown == ["app web created", "env var X set", "env var Y set", "env var Z set"]
    assert count == 4 and now[0] == 3 * FOLLOW_INTERVAL


@pytest.mark.timeout(30)
def test_follow_polls_at_most_once_an_interval_of_its_time_even_when_its_clock_stands_still(store):
    slept: list[float] = []

    async def scenario(client, app_id):
        async def sleep(seconds):
            slept.append(seconds)  # a clock set back, or one that does not move

        return await follow_logs(
            client,
            PROJECT,
            app_id,
            LogQuery(),
            lambda line: None,
            seconds=3 * FOLLOW_INTERVAL,
            sleep=sleep,
            clock=lambda: 0.0,
        )

    assert _run(store, scenario) == 1
    assert slept == [FOLLOW_INTERVAL] * 3


def test_log_lines_render_as_text_and_json_with_control_characters_shown(store):
    async def scenario(client, app_id):
        page = await client.list_logs(PROJECT, app_id)
        return page.logs[0]

    line = _run(store, scenario)
    text = log_text(line)
    assert text.endswith("  info   -  app web created")
    assert log_json(line) == (
        f'{{"app_id": "{line.app_id}", "level": "info", "message": "app web created", '
        f'"timestamp": "{line.timestamp}"}}'
    )
    rude = line.model_copy(update={"message": "a\x1b[2Jb\nc", "error_stack": "x\ny"})
    assert log_text(rude).splitlines() == [
        f"{line.timestamp}  info   -  a\\u001b[2Jb\\nc",
        "    x",
        "    y",
    ]


def test_a_log_row_that_looks_like_a_workflow_command_is_shown_not_obeyed(store):
    async def scenario(client, app_id):
        page = await client.list_logs(PROJECT, app_id)
        return page.logs[0]

    line = _run(store, scenario)
    rude = line.model_copy(
        update={"timestamp": "::warning::t", "error_stack": "Boom\n::stop-commands::x\n  ::a::b"}
    )
    rows = log_text(rude).splitlines()
    assert rows[0].startswith("%3A:warning::t  info")
    assert rows[1:] == ["    Boom", "    %3A:stop-commands::x", "      %3A:a::b"]
    assert not any(row.lstrip().startswith("::") for row in rows)
