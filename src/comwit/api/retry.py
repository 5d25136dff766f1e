"""Observe and execute steps, resilience: repeat a request that is safe to repeat.

Only 502 and 429 answers, failed connections, dropped connections and timeouts are retried,
with exponential backoff and jitter (or the server's Retry-After), bounded in count and in
time. A Retry-After beyond the bounds fails at once, saying so.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import field
from typing import Final, TypeVar

from comwit.console import logger
from comwit.errors import (
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    ConnectFailedError,
    ConnectionDroppedError,
    RateLimitedError,
    UpstreamError,
)
from comwit.frozen import frozen

T = TypeVar("T")
_log = logger("comwit.api")
_RETRYABLE: Final = (
    UpstreamError,
    RateLimitedError,
    ConnectFailedError,
    ApiTimeoutError,
    ConnectionDroppedError,
)


@frozen
class RetryPolicy:
    """How often and how long to retry. `attempts` counts the first try."""

    attempts: int = 4
    base_delay: float = 0.5  # seconds before the first retry, doubled for each next one
    max_delay: float = 8.0  # no single wait is longer, unless Retry-After asks for it
    budget: float = 30.0  # seconds from the first try; no retry would start after it

    def backoff(self, retry: int, jitter: float) -> float:
        """The wait before retry number `retry` (1, 2, ...); `jitter` in [0, 1) picks a
        point in the upper half of the exponential step, so clients do not retry in step."""
        step = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return step * (0.5 + jitter / 2)


DEFAULT_RETRY: Final = RetryPolicy()
NO_RETRY: Final = RetryPolicy(attempts=1)


@frozen
class Pacing:
    """The clock, the sleep and the randomness retries use; tests inject fakes."""

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = field(default=random.random)


def is_retryable(error: ApiError) -> bool:
    """An error a repeat may cure: the control plane or the network, not the request."""
    return isinstance(error, _RETRYABLE)


def is_rate_limited(error: ApiError) -> bool:
    """A 429: the API did not act on the request, so even a write that is not idempotent
    may be sent again."""
    return isinstance(error, RateLimitedError)


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    pacing: Pacing,
    *,
    retry_on: Callable[[ApiError], bool] | None = None,
) -> T:
    """Run `attempt` until it succeeds, fails for good, or the policy's bounds are reached;
    then raise the last error as it is. `retry_on` picks the errors worth a repeat
    (default: `is_retryable`)."""
    started = pacing.clock()
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except ApiError as error:
            if not (retry_on or is_retryable)(error) or tries >= policy.attempts:
                raise
            delay = _next_delay(error, tries, policy, pacing, pacing.clock() - started)
            if delay is None:
                raise
            _log.warning("%s; retry %d of %d in %.1f s", error, tries, policy.attempts - 1, delay)
            await pacing.sleep(delay)


def _next_delay(
    error: ApiError, tries: int, policy: RetryPolicy, pacing: Pacing, elapsed: float
) -> float | None:
    asked = error.retry_after if isinstance(error, ApiStatusError) else None
    if asked is not None and elapsed + asked > policy.budget:
        # Fail now rather than sleep past the bound, and say why (the error keeps its class).
        error.args = (
            f"{error}; it asked to wait {asked:g} s before trying again (Retry-After), "
            f"longer than comwit waits ({max(0.0, policy.budget - elapsed):.0f} s): "
            "try again later",
        )
        return None
    delay = asked if asked is not None else policy.backoff(tries, pacing.jitter())
    if elapsed + delay > policy.budget:
        return None
    return delay
