"""The wire's bounds: a total deadline per request, and a cap on what is read from an answer.

httpx's timeouts are per operation, so a server that sends one byte a second never trips
them. Every request therefore also gets one deadline for the whole exchange (connect, send,
wait, read); an upload gets one that grows with its size. docs/api-client.md states them.
"""

from __future__ import annotations

from typing import Final

from comwit.frozen import frozen

DEFAULT_REQUEST_SECONDS: Final = 30.0
# The slowest uplink an upload is given time for: 512 KiB/s (about 4 Mbit/s).
MIN_UPLOAD_RATE: Final = 512 * 1024
# How long a deploy's answer may take once its body is sent, as the official CLI waits
# (v0.1.9: `transport.ResponseHeaderTimeout = 10 * time.Minute`); COMWIT_TIMEOUT or
# --timeout, when set, replaces it.
DEPLOY_ANSWER_SECONDS: Final = 600.0
# No answer of the Comwit API comes near this (a list of 10,000 builds is about 1 MiB).
MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024


@frozen
class Deadline:
    """Seconds for one whole request, and the words that name this limit in an error."""

    seconds: float
    what: str


@frozen
class Deadlines:
    """How long requests may take, all told.

    `deploy_answer`: how long the service may take to answer a deploy once its body is
    sent (it checks the artifact first), on top of the upload's own time.
    """

    request: float = DEFAULT_REQUEST_SECONDS
    upload_rate: float = MIN_UPLOAD_RATE
    deploy_answer: float = 0.0

    def for_request(self) -> Deadline:
        return Deadline(self.request, f"{_seconds(self.request)} limit for one request")

    def for_upload(self, size: int) -> Deadline:
        """`request + size / upload_rate + deploy_answer`: 100 MB with the defaults gets
        about 3.8 minutes, 1 GB about 34 minutes."""
        seconds = self.request + size / self.upload_rate + self.deploy_answer
        return Deadline(
            seconds,
            f"{_seconds(seconds)} limit for uploading {_size(size)} and its answer",
        )


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(size: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"
