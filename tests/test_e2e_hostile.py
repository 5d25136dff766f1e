"""End to end against a hostile API: the real CLI, in a process limited to 1 GiB of address
space, ends with one clear error and exit 1 on answers that never end or explode; in this
process, a trickling answer ends each try at its deadline and 429s are waited out."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from comwit.cli import main
from comwit.cli.settings import Edges

from tests.e2e_support import FakeTime, Result, World
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


def test_a_body_trickling_one_byte_at_a_time_ends_each_of_four_tries_at_the_deadline(root):
    now = FakeTime()
    with hostile_server(slow_body(0.2)) as server:
        result = _in_process(root, server.url, "plan", sleep=now.sleep, COMWIT_TIMEOUT="0.5")
    assert result.code == 1
    last = result.err.strip().splitlines()[-1]
    assert (
        "did not answer in time: the 0.5 s limit for one request passed (reading the answer)"
        in last
    )
    assert len(server.requests) == 4  # the first try and three retries
    # Between them, by the run's own clock, the upper half of each exponential step
    # (0.5 s, 1 s, 2 s): 3.5 s at the most.
    first, second, third = now.slept
    assert 0.25 <= first < 0.5 and 0.5 <= second < 1 and 1 <= third < 2


def _in_process(
    root: Path, url: str, *args: str, sleep: Callable[[float], Awaitable[None]], **env: str
) -> Result:
    """`comwit ARGS` in this process, over real HTTP to `url`, its waits passed by `sleep`."""
    environ = World(root, url, "cwt_00ff", env).environ()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(root):
        code = main(list(args), edges=Edges(environ, io.StringIO(), out, err, sleep=sleep))
    return Result(code, out.getvalue(), err.getvalue())


def test_429_with_retry_after_on_reads_env_writes_and_attaches_is_waited_out(world):
    for route in ("list_apps", "put_env", "attach_domain"):
        world.admin(
            "POST", "faults/fail", {"route": route, "count": 1, "status": 429, "retry_after": 1}
        )
    now = FakeTime()
    result = world.comwit("apply", "--yes", sleep=now.sleep)
    assert result.code == 0, result.err
    assert now.slept == [1, 1, 1]  # each as long as Retry-After asked, by the run's own clock
    assert result.err.count("failed with 429") == 3
    assert world.stats()["statuses"]["429"] == 3
    assert world.comwit("plan", "--detailed-exitcode").code == 0
