"""End to end against a hostile API: the real CLI, in a process limited to 1 GiB of address
space, ends with one clear error and exit 1 on answers that never end or explode."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile import endless_body, gzip_answer, gzip_bomb, hostile_server, slow_body

GIB = 1024**3
MANIFEST = 'version = 1\nproject = "proj"\n[apps.web]\nbuild_dir = "web"\n'


def _one_gib() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


def comwit(root: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMWIT_")}
    environ |= {"COMWIT_API_URL": url, "COMWIT_TOKEN": "cwt_00ff", "NO_COLOR": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "comwit", *args],
        cwd=root,
        env=environ,
        preexec_fn=_one_gib,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def root(tmp_path):
    (tmp_path / "comwit.toml").write_text(MANIFEST)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("hi")
    return tmp_path


@pytest.mark.parametrize(
    "behaviour", [endless_body, gzip_answer(gzip_bomb(inflated_gib=4))], ids=["endless", "bomb"]
)
def test_an_answer_past_the_cap_ends_plan_with_exit_1_within_1_gib(root, behaviour):
    with hostile_server(behaviour) as server:
        result = comwit(root, server.url, "plan")
    assert result.returncode == 1, result.stderr
    assert "the answer is larger than 16 MiB" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_zero_as_a_plan_file_is_exit_1_within_1_gib(root):
    result = comwit(root, "http://127.0.0.1:9", "apply", "/dev/zero")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: /dev/zero: cannot be read (is a character device, not a regular file)"
    )


def test_a_body_trickling_one_byte_at_a_time_ends_within_the_deadline(root):
    started = time.monotonic()
    with hostile_server(slow_body(0.2)) as server:
        result = comwit(root, server.url, "plan", COMWIT_TIMEOUT="0.5")
    took = time.monotonic() - started
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert (
        "did not answer in time: the 0.5 s limit for one request passed (reading the answer)"
        in last
    )
    # four tries of 0.5 s and at most 3.5 s of backoff between them, plus start-up
    assert took < 4 * 0.5 + 3.5 + 5
    assert len(server.requests) == 4


def test_429_with_retry_after_on_reads_env_writes_and_attaches_is_waited_out(world):
    for route in ("list_apps", "put_env", "attach_domain"):
        world.admin(
            "POST", "faults/fail", {"route": route, "count": 1, "status": 429, "retry_after": 1}
        )
    result = world.comwit("apply", "--yes")
    assert result.code == 0, result.err
    assert result.err.count("failed with 429") == 3
    assert world.stats()["statuses"]["429"] == 3
    assert world.comwit("plan", "--detailed-exitcode").code == 0
