"""Apply's work dir in .comwit/tmp: a killed run's is removed by the next run, a live run's
and anything else there are left alone, and the run's own goes when it ends."""

from __future__ import annotations

import os

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
