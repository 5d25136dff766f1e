"""A deploy's answer is waited for like the official CLI waits (10 minutes), every other
answer for the usual timeout; COMWIT_TIMEOUT or --timeout, when set, rules both."""

from __future__ import annotations

import asyncio

import pytest

from comwit.api.client import ComwitClient
from comwit.api.connect import deadlines_for, open_client
from comwit.api.limits import DEPLOY_ANSWER_SECONDS
from comwit.api.retry import NO_RETRY
from comwit.emulator.faults import Latency
from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.store import SCOPES
from comwit.errors import ApiTimeoutError
from comwit.secret import Secret

from tests.emulator_support import PROJECT, gnu_tar_zst

TOKEN = "cwt_c0ffee"


@pytest.mark.parametrize(
    ("environ", "option", "request_s", "answer_s"),
    [
        ({}, None, 30.0, DEPLOY_ANSWER_SECONDS),
        ({"COMWIT_TIMEOUT": "45"}, None, 45.0, 45.0),
        ({"COMWIT_TIMEOUT": "45"}, 7.0, 7.0, 7.0),
    ],
    ids=["default", "COMWIT_TIMEOUT", "--timeout"],
)
def test_the_deploy_answer_waits_10_minutes_unless_a_timeout_is_set(
    tmp_path, environ, option, request_s, answer_s
):
    async def go():
        async with open_client(
            "https://api.test",
            environ={"COMWIT_TOKEN": TOKEN, **environ},
            local_data_dir=tmp_path,
            project=None,
            timeout=option,
        ) as connection:
            return connection.client.deadlines

    found = asyncio.run(go())
    assert (found.request, found.deploy_answer) == (request_s, answer_s)
    # 1 MB gets its upload time and the whole answer wait, not 32 s as before.
    assert found.for_upload(1_000_000).seconds == pytest.approx(
        request_s + 1_000_000 / (512 * 1024) + answer_s
    )


def test_a_slow_deploy_answer_is_waited_for_while_a_slow_read_times_out(tmp_path):
    artifact = gnu_tar_zst(tmp_path)
    with InProcessEmulator(tmp_path / "emulator") as emulator:
        token = Secret(emulator.issue_token(SCOPES, [PROJECT]))
        emulator.faults.add_latency(Latency(ms=1200, route="deploy"))
        emulator.faults.add_latency(Latency(ms=1200, route="list_builds"))

        async def go():
            # The app is made with the usual patience: a loaded machine may take longer
            # than the 0.5 s under test to answer a plain request.
            async with ComwitClient(emulator.url, token, transport=emulator.transport) as setup:
                app = await setup.create_app(PROJECT, "web")
            async with ComwitClient(
                emulator.url,
                token,
                transport=emulator.transport,
                timeout=0.5,
                retry=NO_RETRY,
                deadlines=deadlines_for(0.5, explicit=False),
            ) as client:
                deployed = await client.deploy(PROJECT, app.app_id, artifact)
                with pytest.raises(ApiTimeoutError):
                    await client.list_builds(PROJECT, app.app_id)
                return deployed

        assert asyncio.run(go()).build_id.startswith("build-")


def test_apply_takes_timeout_and_refuses_a_bad_one_in_one_line(world):
    refused = world.comwit("apply", "--yes", "--timeout", "0")
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "--timeout" in refused.err
    assert world.comwit("apply", "--yes", "--timeout", "20").code == 0
