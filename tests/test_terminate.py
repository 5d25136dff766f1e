"""SIGTERM as an exception while a pack holds a part-written archive (`cli.terminate`)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from comwit.cli.terminate import Terminated, terminable


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
