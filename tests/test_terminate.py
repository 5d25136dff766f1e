"""SIGTERM as an exception while a pack holds a part-written archive (`comwit.terminate`)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from comwit.terminate import Terminated, held_off, terminable


def test_sigterm_in_the_block_raises_terminated_and_the_default_comes_back():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(Terminated), terminable():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_ignored_or_handled_sigterm_is_left_as_it_was():
    def own(signum, frame):
        del signum, frame

    for kept in (signal.SIG_IGN, own):
        previous = signal.signal(signal.SIGTERM, kept)
        try:
            with terminable():
                assert signal.getsignal(signal.SIGTERM) is kept
            assert signal.getsignal(signal.SIGTERM) is kept
        finally:
            signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_the_block_runs_as_it_is():
    seen = []

    def work():
        with terminable():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert seen == [signal.SIG_DFL]


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_stop_in_a_held_off_block_is_raised_when_the_block_ends(signum, raised):
    done = []
    with pytest.raises(raised), terminable():
        with held_off():
            with held_off():  # nested: the outer end raises
                os.kill(os.getpid(), signum)
                done.append("inner")
            done.append("outer")
        done.append("after")  # not reached
    assert done == ["inner", "outer"]
    with terminable(), held_off():  # nothing is left pending for the next block
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigint_is_keyboardinterrupt_in_the_block_as_by_default():
    with pytest.raises(KeyboardInterrupt), terminable():
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _stopped_once_made(monkeypatch, suffix: str, signum: int = signal.SIGTERM) -> None:
    """`signum` sent as `os.open` makes a file named ...`suffix`: its handler runs at the
    next bytecode, before the maker has the name back (as a cancelled CI job can land)."""
    real_open = os.open

    def open_then_stopped(path, flags, mode=0o777, **kwargs):
        fd = real_open(path, flags, mode, **kwargs)
        if str(path).endswith(suffix):
            os.kill(os.getpid(), signum)
        return fd

    monkeypatch.setattr(os, "open", open_then_stopped)


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_stop_as_the_partial_archive_is_made_leaves_no_partial(
    tmp_path, monkeypatch, signum, raised
):
    from comwit.artifact.pack import pack

    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<p>hi</p>")
    out = tmp_path / "web.tar.zst"
    out.write_bytes(b"yesterday's archive")
    _stopped_once_made(monkeypatch, ".partial", signum)
    with pytest.raises(raised), terminable():
        pack(tmp_path / "dist", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist", "web.tar.zst"]
    assert out.read_bytes() == b"yesterday's archive"


def test_a_stop_as_the_old_archive_is_removed_leaves_neither_behind(tmp_path, monkeypatch):
    """The new archive is in place and the old one, moved aside, is being removed."""
    from comwit.artifact import pack as packing

    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<p>hi</p>")
    out = tmp_path / "web.tar.zst"
    out.write_bytes(b"yesterday's archive")
    real_lexists = os.path.lexists
    asked: list[str] = []

    def lexists_then_stopped(path):
        if os.fspath(path) == os.fspath(out) and not asked:  # `_replace`'s last look
            asked.append("out")
            os.kill(os.getpid(), signal.SIGTERM)
        return real_lexists(path)

    monkeypatch.setattr(packing.os.path, "lexists", lexists_then_stopped)
    with pytest.raises(Terminated), terminable():
        packing.pack(tmp_path / "dist", out)
    assert asked == ["out"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist", "web.tar.zst"]
    assert out.read_bytes() != b"yesterday's archive"  # the new one: the stop came after it


def test_a_stop_as_the_defaults_come_back_is_raised_with_both_of_them_back(monkeypatch):
    real_signal = signal.signal

    def restoring_then_stopped(signum, handler):
        if handler is signal.SIG_DFL:  # SIGTERM's default, put back first
            os.kill(os.getpid(), signal.SIGINT)  # lands as SIGINT still has comwit's handler
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "signal", restoring_then_stopped)
    with pytest.raises(KeyboardInterrupt), terminable():
        pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_outside_terminable_held_off_leaves_a_stop_to_its_default():
    with pytest.raises(KeyboardInterrupt), held_off():
        os.kill(os.getpid(), signal.SIGINT)  # Python's own handler: raised here
        pytest.fail("not reached")


def test_a_stop_as_a_state_file_is_made_leaves_no_temporary(tmp_path, monkeypatch):
    from comwit.store.files import write_atomically

    path = tmp_path / "state.json"
    path.write_text("{}")
    _stopped_once_made(monkeypatch, ".tmp")
    with pytest.raises(Terminated), terminable():
        write_atomically(path, '{"new": 1}')
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    assert path.read_text() == "{}"


def test_held_off_outside_the_main_thread_holds_nothing_back():
    """Signal handlers run in the main thread: a worker's block (apply packs in threads) must
    not count, or the main thread's stops would wait for it."""
    from comwit import terminate

    seen = []

    def work():
        with held_off():
            seen.append(terminate._HELD.depth)

    with terminable():
        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=10)
        with pytest.raises(Terminated):  # raised at once, not held for the worker
            os.kill(os.getpid(), signal.SIGTERM)
    assert seen == [0]
