"""End to end: `comwit logs APP` shows the app's deploy and activation events, oldest first,
as text or JSON Lines, following `next_page_token` to the end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from comwit.emulator.inprocess import InProcessEmulator
from comwit.emulator.settings import Settings
from comwit.emulator.store import SCOPES

from tests.e2e_support import PROJECT, FakeTime, World, populate

LOGS = "GET /v1/projects/{project_id}/apps/{app_id}/logs"


def test_logs_show_the_deploy_and_its_activation_oldest_first(world):
    assert world.comwit("apply", "--yes").code == 0
    build = world.app("web")["active_build_id"]
    shown = world.comwit("logs", "web")
    assert shown.code == 0, shown.err
    messages = [line.split("  ", 3)[3] for line in shown.out.splitlines()]
    assert messages[0] == "app web created"
    uploaded = next(i for i, m in enumerate(messages) if m.startswith(f"build {build} uploaded"))
    assert messages[uploaded + 1] == f"build {build} activated"
    assert "env var LEVEL set" in messages
    assert "hostname www.example.com finalized: active" in messages
    assert all(f"  {build}  " in line for line in shown.out.splitlines()[uploaded:])


def test_logs_as_json_are_one_document_whose_lines_carry_the_build_id(world):
    assert world.comwit("apply", "--yes").code == 0
    build = world.app("api")["active_build_id"]
    shown = world.comwit("logs", "api", "--format", "json")
    document = json.loads(shown.out)
    assert shown.code == 0
    assert (document["project"], document["app"]) == (PROJECT, "api")
    lines = document["logs"]
    activated = next(line for line in lines if line["message"] == f"build {build} activated")
    assert {"timestamp", "level", "message", "app_id", "build_id"} <= set(activated)
    assert activated["build_id"] == build and lines[0]["app_id"] == world.app("api")["app_id"]


def test_logs_filter_by_build_and_bound_by_tail(world):
    assert world.comwit("apply", "--yes").code == 0
    first = world.app("api")["active_build_id"]
    world.write("api/server.js", "serve(2)")
    assert world.comwit("apply", "--yes").code == 0
    of_first = world.comwit("logs", "api", "--build", first, "--format", "json")
    assert {line["build_id"] for line in json.loads(of_first.out)["logs"]} == {first}
    every = json.loads(world.comwit("logs", "api", "--format", "json").out)["logs"]
    last = json.loads(world.comwit("logs", "api", "--tail", "3", "--format", "json").out)["logs"]
    assert len(every) > 3 and last == every[-3:]


@pytest.fixture
def small_pages(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    settings = Settings(auto_dns=True, logs_page_size=2)
    with InProcessEmulator(tmp_path / "emulator-data", settings=settings) as emulator:
        token = emulator.issue_token(SCOPES, [PROJECT])
        made = World(root, emulator.url, token, {}, transport=emulator.transport)
        yield populate(made)


def test_logs_follow_next_page_token_until_the_end(small_pages):
    assert small_pages.comwit("apply", "--yes").code == 0
    small_pages.reset_stats()
    shown = small_pages.comwit("logs", "web", "--format", "json")
    lines = json.loads(shown.out)["logs"]
    assert lines[0]["message"] == "app web created" and len(lines) >= 6
    assert small_pages.stats()["requests"][LOGS] == (len(lines) + 1) // 2


def test_follow_shows_the_tail_and_stops_when_its_time_is_up(world):
    assert world.comwit("apply", "--yes", "--app", "api").code == 0
    shown = world.comwit("logs", "api", "--follow", "--for", "1")
    assert shown.code == 0
    assert shown.out.splitlines()[0].endswith("app api created")
    assert "stopped following after 1 s (--for)" in shown.err
    as_json = world.comwit("logs", "api", "--follow", "--for", "1", "--format", "json")
    lines = [json.loads(line) for line in as_json.out.splitlines()]  # JSON Lines
    assert lines[0]["message"] == "app api created"


def test_for_without_follow_is_refused_not_ignored(world):
    refused = world.comwit("logs", "api", "--for", "5")
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == "error: --for says how long to follow: pass --follow with it\n"


def test_a_follow_waits_through_the_runs_own_sleep_and_clock(world):
    assert world.comwit("apply", "--yes", "--app", "api").code == 0
    now = FakeTime()
    world.reset_stats()
    shown = world.comwit("logs", "api", "--follow", "--for", "10", clock=now, sleep=now.sleep)
    assert shown.code == 0, shown.err
    assert now.slept == [2.0] * 5  # a poll every 2 s of the run's own time, until --for
    assert world.stats()["requests"][LOGS] == 6
    assert "stopped following after 10 s (--for)" in shown.err


def test_a_follow_stops_when_its_time_is_up_even_while_the_api_is_slow_to_answer(world):
    """The log read is held past --for: following ends then (exit 0), not when the request's
    own timeout (here 4 s) gives up with an error."""
    assert world.comwit("apply", "--yes", "--app", "api").code == 0
    world.admin("POST", "faults/latency", {"route": "list_logs", "ms": 20_000, "hold": True})
    try:
        shown = world.comwit("logs", "api", "--follow", "--for", "1", env={"COMWIT_TIMEOUT": "4"})
    finally:
        world.admin("DELETE", "faults")
    assert (shown.code, shown.out) == (0, "")
    assert shown.err.strip() == "stopped following after 1 s (--for)"


@pytest.mark.parametrize(
    "since",
    ["2026-13-45T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00+24:00", "9" * 5000 + "s"],
)
def test_a_since_that_is_no_time_is_refused_by_the_api_as_bad_input(world, since):
    assert world.comwit("apply", "--yes", "--app", "web").code == 0
    shown = world.comwit("logs", "web", "--since", since)
    assert (shown.code, shown.err.count("\n")) == (1, 1)
    assert "failed with 400: since=" in shown.err
    assert "is neither an RFC 3339 time" in shown.err or "..." in shown.err  # a long one is cut


def test_a_since_longer_ago_than_any_line_shows_every_line(world):
    assert world.comwit("apply", "--yes", "--app", "web").code == 0
    every = world.comwit("logs", "web").out
    assert every
    assert world.comwit("logs", "web", "--since", "9" * 40 + "h").out == every
    assert world.comwit("logs", "web", "--since", "0001-01-01T00:00:00Z").out == every


def test_logs_of_an_app_not_in_the_manifest_or_not_created_are_one_line_errors(world):
    unknown = world.comwit("logs", "nope")
    assert (unknown.code, unknown.err.count("\n")) == (1, 1)
    assert "app 'nope' is not in comwit.toml (apps: api, web)" in unknown.err
    missing = world.comwit("logs", "web")
    assert missing.code == 1
    assert "app 'web' does not exist in project proj yet; `comwit apply` creates it" in missing.err


def test_ctrl_c_ends_a_follow_quietly_with_exit_0(process_world):
    """The usual way to stop following; the script's own signal path, so a real process."""
    assert process_world.in_this_process().comwit("apply", "--yes", "--app", "api").code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "logs", "api", "--follow", "--for", "60"],
        cwd=process_world.root,
        env=process_world.environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the tail is shown: now it polls
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert first.rstrip().endswith("app api created")
    assert proc.returncode == 0, err
    assert "error" not in err and "Traceback" not in err
