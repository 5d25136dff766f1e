"""The emulator as a process of its own, as tests and benchmarks start it: it answers at the
URL it printed, is always stopped, and one that cannot start is one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from comwit.emulator.process import serve_process
from comwit.errors import ComwitError

ENVIRON = {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_")}


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_served_emulator_answers_with_its_token_and_is_stopped_when_the_block_ends(tmp_path):
    with serve_process(tmp_path / "data", "--project", "proj", environ=ENVIRON) as served:
        headers = {"Authorization": f"Bearer {served.token}"}
        answer = httpx.get(f"{served.url}/v1/projects/proj/apps", headers=headers, timeout=10)
        assert answer.status_code == 200
        assert _running(served.pid)
    assert not _running(served.pid)


def test_a_served_emulator_is_stopped_when_the_block_fails(tmp_path):
    with pytest.raises(KeyError), serve_process(tmp_path / "data", environ=ENVIRON) as served:
        raise KeyError("the test failed")
    assert not _running(served.pid)


def test_an_emulator_that_cannot_start_is_one_error_with_its_exit_code(tmp_path):
    with (
        pytest.raises(ComwitError) as raised,
        serve_process(tmp_path / "data", "--no-such-option", environ=ENVIRON),
    ):
        pass
    assert str(raised.value) == "the emulator did not start (exit code 1)"
