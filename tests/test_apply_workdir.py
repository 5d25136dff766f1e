"""Apply's work dir in .comwit/tmp: a killed run's is removed by the next run, a live run's
and anything else there are left alone, and the run's own goes when it ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comwit.apply.workdir import WorkDir, process_exists
from comwit.errors import ComwitError

GONE = 99_999_999  # above any pid_max: no process has it


def test_the_next_run_removes_the_work_dir_of_a_run_that_is_gone_and_keeps_the_others(tmp_path):
    base = tmp_path / ".comwit" / "tmp"
    for name in (f"{GONE}-0a1b", f"{os.getpid()}-2c3d", "notes"):
        (base / name).mkdir(parents=True)
        (base / name / "web.tar.zst").write_bytes(b"left")
    with WorkDir(tmp_path) as work:
        assert work.path.is_dir()
        left = sorted(p.name for p in base.iterdir() if p != work.path)
    assert left == sorted([f"{os.getpid()}-2c3d", "notes"])
    assert not work.path.exists()


def test_a_process_exists_while_it_runs():
    assert (process_exists(os.getpid()), process_exists(GONE)) == (True, False)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux's /proc")
def test_a_killed_process_nobody_reaped_is_gone():
    """A zombie answers kill(pid, 0): a killed apply whose parent never reaps it (a container
    without an init) held its lease until it expired."""
    import subprocess
    import time

    child = subprocess.Popen(["sleep", "60"])
    try:
        assert process_exists(child.pid)
        child.kill()
        deadline = time.monotonic() + 30
        while process_exists(child.pid):  # dead, not reaped: a zombie until wait() below
            assert time.monotonic() < deadline, "the killed child still counts as running"
            time.sleep(0.01)
        stat = Path(f"/proc/{child.pid}/stat").read_bytes()
        assert stat.rpartition(b")")[2][1:2] == b"Z"  # still there, as a zombie
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not process_exists(child.pid)


@pytest.mark.parametrize("in_the_way", [".comwit", ".comwit/tmp"])
def test_a_file_where_the_work_dir_goes_is_a_one_line_error_naming_it(tmp_path, in_the_way):
    (tmp_path / in_the_way).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / in_the_way).write_text("not a directory")
    with pytest.raises(ComwitError) as raised, WorkDir(tmp_path):
        pass
    assert str(raised.value) == (
        f"cannot make a work dir to pack in under {tmp_path / '.comwit'} (Not a directory); "
        "make it a directory comwit can write to, or remove it"
    )
