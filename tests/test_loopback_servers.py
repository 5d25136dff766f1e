"""The loopback test servers themselves (tests/hostile.py `serving`, keepalive_server): a
connection they still hold is closed by them on the way out, never left to the collector."""

from __future__ import annotations

import gc
import socket
import warnings

from tests.e2e_support import wait_for
from tests.keepalive_server import keepalive_server

HEAD = b"GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_stalled_answer_whose_client_went_away_is_closed_by_the_server_at_its_end():
    """The client half-closes a connection whose answer never comes: nothing is read or
    written on it any more, yet a garbage collection before the server stops finds no
    socket of it left open (an 'unclosed' ResourceWarning in whatever test runs then)."""
    steps = iter(["stall"])
    gc.collect()  # what earlier tests left is not this test's to report
    with keepalive_server(lambda n: next(steps, "answer")) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as stalled:
            stalled.sendall(HEAD % b"a")
            wait_for("the stalled request", lambda: server.requests == ["GET /a"], 5.0)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as other:
                other.sendall(HEAD % b"b")
                assert other.recv(4096).startswith(b"HTTP/1.1 200 OK")
        # Both gone; a third answer means the server has seen both ends by now.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as last:
            last.sendall(HEAD % b"c")
            assert last.recv(4096).startswith(b"HTTP/1.1 200 OK")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            gc.collect()
    assert [str(w.message) for w in caught] == []
    assert server.requests == ["GET /a", "GET /b", "GET /c"]
