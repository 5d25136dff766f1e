"""A computation in a forked child, its answer read back through a pipe (`cli.forked`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from comwit.cli import forked


def test_a_forked_childs_answer_comes_back_and_its_output_goes_nowhere(capfd):
    def work() -> bytes:
        print("from the child")
        os.write(2, b"child stderr\n")
        return b"x" * 300_000  # more than a pipe holds: the parent reads while it writes

    child = forked.Forked.start(work)
    assert child is not None
    assert child.answer() == b"x" * 300_000
    assert child.answer() == b"x" * 300_000  # remembered
    assert capfd.readouterr() == ("", "")


def test_the_answer_comes_back_on_a_descriptor_past_select_s_limit():
    """A process that holds many descriptors (an embedding program, a CI runner's) gets the
    pipe past 1023, where select() cannot wait on it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = 1500
    if hard != resource.RLIM_INFINITY and hard <= high:
        pytest.skip(f"this process may hold {hard} descriptors at most")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, high + 1), hard))
    try:
        child = forked.Forked.start(lambda: b"answer")
        assert child is not None
        os.dup2(child._reader, high)
        os.close(child._reader)
        child._reader = high
        assert child.answer() == b"answer"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_child_that_fails_or_hangs_is_no_answer_and_is_reaped():
    def fails() -> bytes:
        raise RuntimeError("no")

    failing = forked.Forked.start(fails)
    assert failing is not None
    assert failing.answer() is None

    hanging = forked.Forked.start(lambda: time.sleep(60) or b"late")
    assert hanging is not None
    pid = hanging._pid
    started = time.monotonic()
    assert hanging.answer(timeout=0.3) is None
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):  # killed and reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def test_no_child_is_forked_while_other_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert forked.Forked.start(lambda: b"") is None
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("failing", ["pipe", "fork"])
def test_no_descriptor_or_process_to_spare_is_no_head_start(monkeypatch, failing):
    def refuse(*args):
        raise OSError(24, "Too many open files")

    before = len(list(Path("/proc/self/fd").iterdir()))
    monkeypatch.setattr(os, failing, refuse)
    assert forked.Forked.start(lambda: b"") is None
    assert len(list(Path("/proc/self/fd").iterdir())) == before  # the pipe, if made, is closed


def test_two_threads_asking_at_once_both_get_the_answer():
    child = forked.Forked.start(lambda: time.sleep(0.2) or b"answer")
    assert child is not None
    got: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: got.append(child.answer())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert got == [b"answer", b"answer"]
    assert child.ready()
