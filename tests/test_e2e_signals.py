"""Ctrl-C, SIGTERM and kill -9 against apply as a real process on a pseudo-terminal: the
prompt ends at once, a stop mid-upload prints what was done, and a killed run leaves nothing
behind that the next apply does not clean up or converge from."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e_support import Terminal, World, actions

pytestmark = pytest.mark.timeout(90)
PROMPT_BOUND = 10.0  # seconds from Ctrl-C at the prompt to the process's end


def _slow_uploads(world: World, ms: int) -> None:
    world.admin("POST", "faults/latency", {"route": "deploy", "ms": ms})


def test_ctrl_c_at_the_prompt_ends_it_at_once_with_130_and_applies_nothing(process_world):
    terminal = Terminal(process_world, "apply")
    terminal.wait_for("Type 'yes'")
    time.sleep(0.2)
    assert terminal.proc.poll() is None  # waiting for the answer, which never comes
    started = time.monotonic()
    terminal.type(b"\x03")
    # A prompt that let Ctrl-C pass would wait for its answer for good: the bound only has
    # to tell "at once" from "never", so it leaves room for a loaded machine.
    assert terminal.finish(timeout=PROMPT_BOUND) == 130, terminal.text
    assert time.monotonic() - started < PROMPT_BOUND
    # The prompt's own line (the terminal echoes ^C), then the error on a line of its own:
    # nothing ran after it.
    *_, prompt, last = terminal.text.strip().splitlines()
    assert prompt.startswith("Apply these changes to project proj? Type 'yes' to go on: "), prompt
    assert last == "error: interrupted", last
    assert "stopping" not in terminal.text  # the prompt ended, not an apply's stop
    assert "Traceback" not in terminal.text
    assert process_world.api("apps")["apps"] == []  # nothing was applied


@pytest.mark.parametrize(("how", "code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_a_stop_mid_upload_lets_it_finish_records_it_and_prints_the_summary(
    process_world, how, code
):
    _slow_uploads(process_world, 2500)
    terminal = Terminal(process_world, "apply", "--yes", "--parallel", "1")
    terminal.wait_for("uploading")
    if how == "ctrl-c":
        terminal.type(b"\x03")
    else:
        terminal.proc.send_signal(signal.SIGTERM)
    assert terminal.finish() == code, terminal.text
    text = terminal.text
    assert "stopping; no new change starts" in text
    assert "Apply interrupted:" in text
    # One app at a time: api's upload was in flight and finished; web never began.
    assert "  done         api  build build-" in text
    assert "  not started  web  not started: apply was interrupted" in text
    process_world.admin("DELETE", "faults")
    here = process_world.in_this_process()
    result = here.comwit("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert len(here.builds("api")) == 1
    assert actions(here.plan_json()) == []


def test_kill_9_during_an_upload_then_the_next_apply_converges_with_one_build(
    process_world, tmp_path
):
    tmpdir = tmp_path / "system-tmp"
    tmpdir.mkdir()
    _slow_uploads(process_world, 4000)
    terminal = Terminal(
        process_world, "apply", "--yes", "--app", "web", env={"TMPDIR": str(tmpdir)}
    )
    terminal.wait_for("uploading")
    terminal.proc.send_signal(signal.SIGKILL)
    terminal.finish()
    leftovers = list((process_world.root / ".comwit" / "tmp").glob("*/*"))
    assert leftovers  # the killed run had packed its artifact
    process_world.admin("DELETE", "faults")

    result = process_world.comwit("apply", "--yes", env={"TMPDIR": str(tmpdir)})
    assert result.code == 0, result.out + result.err
    assert len(process_world.builds("web")) == 1
    assert actions(process_world.in_this_process().plan_json()) == []
    assert list(tmpdir.iterdir()) == []  # nothing ever went to the system temp dir
    assert all(not path.exists() for path in leftovers)  # the killed run's artifact is gone
    assert not _files_under(process_world.root / "web", ".partial", ".zst")


def _files_under(root: Path, *suffixes: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(suffixes)]
