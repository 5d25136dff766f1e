"""Regular files only: a FIFO, a device or a socket where comwit reads or writes a file is one
clear error, never a wait for a FIFO's other end, an endless read or a replaced device node."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from comwit.store.regular import (
    NotRegularFile,
    open_append,
    read_bounded,
    read_regular,
    refuse_special,
)

from tests.special_files import fifo_opened_later


def test_a_regular_file_is_read_up_to_one_byte_past_the_limit(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, 20) == b"x" * 10
    assert read_regular(path, 4) == b"x" * 5


def test_a_bounded_read_takes_the_limit_itself_and_refuses_a_byte_more(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 2**20)
    assert read_bounded(path, 2**20) == b"x" * 2**20
    path.write_bytes(b"x" * (2**20 + 1))
    with pytest.raises(ValueError, match=r"^larger than 1 MiB$"):
        read_bounded(path, 2**20)


def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(tmp_path):
    with fifo_opened_later(tmp_path / "pipe", "w") as pipe, pytest.raises(NotRegularFile) as err:
        read_regular(pipe, 100)
    assert err.value.strerror == "is a FIFO, not a regular file"


def test_a_device_and_a_socket_are_refused_and_a_directory_is_a_directory(tmp_path):
    with pytest.raises(NotRegularFile, match="is a character device, not a regular file"):
        read_regular(Path("/dev/zero"), 100)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(NotRegularFile, match="is a socket"):
            refuse_special(tmp_path / "sock")
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path, 100)


def test_refuse_special_lets_missing_files_regular_files_and_directories_through(tmp_path):
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "missing", tmp_path / "file", tmp_path):
        refuse_special(path)
    (tmp_path / "null").symlink_to("/dev/null")
    with pytest.raises(NotRegularFile, match="character device"):
        refuse_special(tmp_path / "null")


def test_open_append_appends_to_a_file_and_refuses_a_fifo_without_waiting_for_a_reader(tmp_path):
    path = tmp_path / "out"
    for line in (b"a\n", b"b\n"):
        with open_append(path) as file:
            file.write(line)
    assert path.read_bytes() == b"a\nb\n"
    with fifo_opened_later(tmp_path / "pipe", "r") as pipe, pytest.raises(NotRegularFile):
        open_append(pipe)
    assert stat.S_ISFIFO((tmp_path / "pipe").stat().st_mode)


def test_plan_out_to_a_device_is_one_error_and_leaves_the_device_alone(world):
    (world.root / "plan.json").symlink_to("/dev/null")
    result = world.comwit("plan", "--out", "plan.json")
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: cannot write the plan to plan.json: is a character device, not a regular file"
    ]
    assert (world.root / "plan.json").readlink() == Path("/dev/null")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_apply_of_a_saved_plan_that_is_a_fifo_is_one_error_at_once(world):
    with fifo_opened_later(world.root / "plan.json", "w"):
        result = world.comwit("apply", "plan.json")
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: plan.json: cannot be read (is a FIFO, not a regular file)"
    ]


def _bytes_read_by_this_thread() -> int:
    """What this thread has read through read(2) so far, by Linux's count (`rchar`)."""
    counts = dict(
        line.split(": ") for line in Path("/proc/thread-self/io").read_text().splitlines()
    )
    return int(counts["rchar"])


def test_a_saved_plan_past_the_size_limit_is_refused_after_reading_just_past_it(world):
    with (world.root / "plan.json").open("wb") as file:
        file.truncate(33 * 2**20)  # sparse: nothing is written
    world.comwit("apply", "plan.json")  # the first run also reads the modules apply imports
    before = _bytes_read_by_this_thread()
    result = world.comwit("apply", "plan.json")
    read = _bytes_read_by_this_thread() - before
    assert 32 * 2**20 < read < 32 * 2**20 + 64 * 2**10  # the limit and a byte, plus the manifest
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: plan.json: is larger than 32 MiB, more than any saved plan; "
        "was it written by `comwit plan --out`?"
    ]


@pytest.mark.parametrize(("out", "shown"), [(".", "."), ("web", "web")])
def test_plan_out_naming_a_directory_says_it_is_a_directory(world, out, shown):
    result = world.comwit("plan", "--out", out)
    assert result.code == 1
    assert result.err.splitlines() == [f"error: cannot write the plan to {shown}: Is a directory"]


def test_plan_out_naming_the_manifest_is_refused_before_planning(world):
    manifest = world.root / "comwit.toml"
    before = manifest.read_bytes()
    result = world.comwit("plan", "--out", "comwit.toml")
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: cannot save the plan to comwit.toml: it is the manifest; pass another -o FILE"
    ]
    assert manifest.read_bytes() == before
