"""Step outputs as a dotenv report for GitLab CI ($COMWIT_DOTENV), read back the way GitLab
reads one (tests/ci_support.read_dotenv refuses what GitLab refuses)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal

import pytest

from comwit.apply.result import ApplyResult, Outcome
from comwit.ci.dotenv import MAX_BYTES, dotenv_name, write_dotenv
from comwit.ci.outputs import apply_outputs, plan_outputs
from comwit.secret import Secret

from tests.ci_support import read_dotenv
from tests.factories import sample_plan


def test_names_are_what_gitlab_takes_as_keys():
    assert dotenv_name("has-changes") == "COMWIT_HAS_CHANGES"
    assert dotenv_name("preview-urls") == "COMWIT_PREVIEW_URLS"


def test_a_plan_then_an_apply_in_one_job_leave_each_key_once(tmp_path):
    path = tmp_path / "comwit.env"
    assert write_dotenv(path, plan_outputs(sample_plan(), "plan.json")) == []
    assert read_dotenv(path)["COMWIT_HAS_CHANGES"] == "true"
    result = ApplyResult((Outcome("web", "done"), Outcome("api", "failed", "boom")))
    urls = {"web": "https://web.example.net"}
    assert write_dotenv(path, plan_outputs(sample_plan()) | apply_outputs(result, urls)) == []
    values = read_dotenv(path)
    assert json.loads(values["COMWIT_URLS"]) == urls
    assert json.loads(values["COMWIT_FAILED_APPS"]) == ["api"]
    assert values["COMWIT_PLAN_PATH"] == "plan.json"  # the plan's, kept from the first write
    keys = [line.split("=", 1)[0] for line in path.read_text().splitlines()]
    assert len(keys) == len(set(keys)) <= 20


def test_the_jobs_own_lines_are_kept_and_blank_lines_dropped(tmp_path):
    path = tmp_path / "comwit.env"
    path.write_text("BUILD_VERSION=1.2.3\n\nCOMWIT_HAS_CHANGES=stale\n")
    write_dotenv(path, {"has-changes": "false"})
    assert path.read_text() == "BUILD_VERSION=1.2.3\nCOMWIT_HAS_CHANGES=false\n"


def test_what_would_pass_gitlabs_limits_is_left_out_by_name(tmp_path):
    path = tmp_path / "comwit.env"
    path.write_text("".join(f"MINE_{n}=x\n" for n in range(18)))
    urls = {f"app-{n:04}": f"https://app-{n:04}.example.net" for n in range(200)}
    values = {"urls": json.dumps(urls), "done": "200", "note": "two\nlines", "a": "1", "b": "2"}
    left_out = write_dotenv(path, values)
    assert left_out == ["COMWIT_URLS", "COMWIT_NOTE", "COMWIT_B"]
    read = read_dotenv(path)
    assert (read["COMWIT_DONE"], read["COMWIT_A"]) == ("200", "1")
    assert len(read) == 20 and path.stat().st_size < MAX_BYTES


def test_a_value_that_ends_in_a_line_break_is_written_without_it(tmp_path):
    path = tmp_path / "comwit.env"
    assert write_dotenv(path, {"plan-path": "plan.json\n", "done": " 3\r\n"}) == []
    assert path.read_text() == "COMWIT_PLAN_PATH=plan.json\nCOMWIT_DONE=3\n"


@pytest.mark.parametrize("brk", ["\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029"])
def test_a_value_that_would_be_read_back_as_two_lines_is_left_out(tmp_path, brk):
    path = tmp_path / "comwit.env"
    assert write_dotenv(path, {"note": f"two{brk}lines", "done": "1"}) == ["COMWIT_NOTE"]
    write_dotenv(path, {"has-changes": "true"})  # the next write reads the file back
    assert read_dotenv(path) == {"COMWIT_DONE": "1", "COMWIT_HAS_CHANGES": "true"}


def test_the_next_write_keeps_a_file_name_that_is_not_utf8_and_the_jobs_own_bytes(tmp_path):
    path = tmp_path / "comwit.env"
    path.write_bytes(b"MINE=caf\xe9\n")  # a job's own Latin-1 line
    write_dotenv(path, {"plan-path": os.fsdecode(b"\xff.json")})
    write_dotenv(path, {"has-changes": "true"})
    assert (
        path.read_bytes() == b"MINE=caf\xe9\nCOMWIT_PLAN_PATH=\xff.json\nCOMWIT_HAS_CHANGES=true\n"
    )


def test_the_matrix_is_githubs_and_stays_out(tmp_path):
    path = tmp_path / "comwit.env"
    write_dotenv(path, {"has-changes": "true", "matrix": '{"include": []}'})
    assert read_dotenv(path) == {"COMWIT_HAS_CHANGES": "true"}


def test_secrets_never_reach_the_report(tmp_path):
    Secret("glpat-dotenv-secret-1")
    path = tmp_path / "comwit.env"
    write_dotenv(path, {"plan-path": "glpat-dotenv-secret-1/plan.json"})
    assert read_dotenv(path) == {"COMWIT_PLAN_PATH": "<hidden>/plan.json"}


def test_a_write_that_fails_half_way_leaves_the_jobs_own_report_as_it_was(tmp_path):
    path = tmp_path / "comwit.env"
    mine = "".join(f"MINE_{n}=x\n" for n in range(10))
    path.write_text(mine)
    with _files_at_most(len(mine) + 10), pytest.raises(OSError):  # the new report is longer
        write_dotenv(path, {"has-changes": "true", "urls": "x" * 100})
    assert path.read_text() == mine
    assert [p.name for p in tmp_path.iterdir()] == ["comwit.env"]  # no temporary file left


@contextlib.contextmanager
def _files_at_most(size):
    """Writes past `size` bytes of any file fail (EFBIG), as on a full disk."""
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, limits[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
