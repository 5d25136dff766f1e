"""What comwit asks of GitHub or GitLab to keep its comment, and the one HTTP wrapper both
clients share: every request bounded in time, every listing bounded in pages, a rate limit
waited out only while the wait fits in the deadline, every failure one `ForgeError` (a
warning for the user, never a failed deploy).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol, TypedDict
from urllib.parse import urlsplit

from comwit import __version__
from comwit.escape import one_line
from comwit.frozen import frozen
from comwit.secret import redact

if TYPE_CHECKING:
    import httpx

    class Options(TypedDict, total=False):
        """What a GitHub or GitLab client passes on to `HttpForge` as is."""

        transport: httpx.BaseTransport | None
        timeout: float
        deadline: float
        max_pages: int
        sleep: Callable[[float], None]
        clock: Callable[[], float]


REQUEST_TIMEOUT = 10.0  # seconds, each request
DEADLINE = 60.0  # seconds, all requests of one comment together
MAX_PAGES = 50  # of 100 comments each
MAX_BODY = 32 << 20  # bytes of one answer: a page of 100 comments of 65,536 characters fits
MAX_TRIES = 4  # of one request, when rate limited or the server is briefly unavailable
UNSPECIFIED_WAIT = 60.0  # seconds: GitHub asks for at least a minute when it says no more
_IDEMPOTENT = ("GET", "PATCH", "PUT")  # sent again after a 502/503/504; a POST never is
_UNAVAILABLE = (502, 503, 504)
_GRACE = 0.5  # seconds past the deadline before an exchange still going is given up on


@frozen
class Comment:
    id: int
    author: str  # login / username
    body: str
    url: str | None = None


class ForgeError(Exception):
    """A request to GitHub or GitLab failed; `status` is the HTTP status when there was one."""

    def __init__(
        self, message: str, status: int | None = None, *, rate_limited: bool = False
    ) -> None:
        self.status = status
        self.rate_limited = rate_limited
        super().__init__(redact(message))


class Forge(Protocol):
    """A pull request host, as far as the living comment needs one."""

    noun: str  # "pull request" / "merge request"
    body_limit: int  # the longest comment the host takes, in characters

    def own_login(self) -> str: ...

    def pull_request_of(self, sha: str) -> int | None: ...

    def is_open(self, number: int) -> bool: ...

    def comments(self, number: int) -> Iterator[Comment]: ...

    def create(self, number: int, body: str) -> Comment: ...

    def update(self, number: int, comment: Comment, body: str) -> Comment: ...

    def close(self) -> None: ...


class HttpForge:
    """An httpx client with a deadline over all its requests and one error type."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = REQUEST_TIMEOUT,
        deadline: float = DEADLINE,
        max_pages: int = MAX_PAGES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import httpx  # only when a comment is asked for: start-up stays fast

        self._httpx = httpx
        try:
            self._client = httpx.Client(
                base_url=base_url.rstrip("/") + "/",
                headers={"User-Agent": f"comwit/{__version__}", **headers},
                timeout=timeout,
                transport=transport,
                follow_redirects=False,
            )
        except httpx.InvalidURL as exc:
            raise ForgeError(
                f"the CI's API URL (GITHUB_API_URL / CI_API_V4_URL) is not a URL ({exc}); fix it"
            ) from None
        self._deadline = deadline
        self._ends = time.monotonic() + deadline
        self._sleep = sleep
        self._clock = clock
        self._origin = urlsplit(base_url)[:2]
        self.max_pages = max_pages

    def request(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One request, asked again (at most MAX_TRIES in all) when the API says to wait and
        the wait fits in the deadline; an error status or no answer raises `ForgeError`."""
        what = f"{method} {url.split('?', 1)[0]}"
        tries = 0
        while True:
            tries += 1
            response = self._send(what, method, url, json, params)
            if response.is_success:
                return response
            limit = rate_limit_wait(response, self._clock())
            wait = limit
            if wait is None and response.status_code in _UNAVAILABLE and method in _IDEMPOTENT:
                wait = float(2 ** (tries - 1))
            if wait is None or tries == MAX_TRIES:
                raise ForgeError(
                    f"{what} failed with {response.status_code}: {_message(response)}"
                    + (f" (after {tries} tries)" if tries > 1 else ""),
                    status=response.status_code,
                    rate_limited=limit is not None,
                )
            self._pause(what, response, wait, rate_limited=limit is not None)

    def _send(
        self, what: str, method: str, url: str, json: Any, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        """One exchange, on a thread of its own that is given up on at the deadline: httpx's
        timeouts bound each read, and a server that sends its headers a line a second would
        keep every read in time for ever (the body is read against the deadline too)."""
        left = self._ends - time.monotonic()
        if left <= 0:
            raise ForgeError(f"{what}: gave up, the requests took longer than {self._deadline:g} s")
        outcome: list[httpx.Response | BaseException] = []

        def exchange() -> None:
            try:
                outcome.append(self._exchange(what, method, url, json, params, left))
            except BaseException as exc:  # raised again on the caller's thread
                outcome.append(exc)

        worker = threading.Thread(target=exchange, name="comwit-forge-request", daemon=True)
        worker.start()
        worker.join(left + _GRACE)  # its own timeouts and deadline checks say it first
        if not outcome:
            raise ForgeError(
                f"{what}: gave up, the answer took longer than {self._deadline:g} s to arrive"
            )
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _exchange(
        self,
        what: str,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, Any] | None,
        left: float,
    ) -> httpx.Response:
        timeout = min(left, self._client.timeout.read or REQUEST_TIMEOUT)
        try:
            request = self._client.build_request(
                method, url.lstrip("/"), json=json, params=params, timeout=timeout
            )
            streamed = self._client.send(request, stream=True)
            try:
                body = self._body(what, streamed)
            finally:
                streamed.close()
        except self._httpx.HTTPError as exc:
            raise ForgeError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        # The body as read is decoded already: the headers that told how go with it.
        headers = streamed.headers.copy()
        for name in ("content-encoding", "content-length"):
            headers.pop(name, None)
        kept = {k: v for k, v in streamed.extensions.items() if k != "network_stream"}
        response: httpx.Response = self._httpx.Response(
            streamed.status_code, headers=headers, content=body, request=request, extensions=kept
        )
        return response

    def _body(self, what: str, response: httpx.Response) -> bytes:
        """The answer's body, decoded, read within the deadline (a server that sends a byte
        a second would otherwise hold each read's timeout off for ever) and MAX_BODY."""
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY:
                raise ForgeError(f"{what}: the answer is larger than {MAX_BODY >> 20} MiB")
            if time.monotonic() > self._ends:
                raise ForgeError(
                    f"{what}: gave up, the answer took longer than {self._deadline:g} s to arrive"
                )
            parts.append(chunk)
        return b"".join(parts)

    def _pause(
        self, what: str, response: httpx.Response, wait: float, *, rate_limited: bool
    ) -> None:
        """Sleep `wait` seconds before asking again, unless that outlasts the deadline."""
        left = self._ends - time.monotonic()
        if wait >= left:
            said = "rate limited" if rate_limited else f"answered {response.status_code}"
            raise ForgeError(
                f"{what}: {said} ({_message(response)}); waiting {wait:.0f} s would take more "
                f"than the {max(left, 0):.0f} s left for it",
                status=response.status_code,
                rate_limited=rate_limited,
            )
        self._sleep(wait)

    def next_link(self, response: httpx.Response) -> str | None:
        """The `Link: <…>; rel="next"` page, only on the API's own host: the token goes
        nowhere else."""
        url = response.links.get("next", {}).get("url")
        if not url:
            return None
        if urlsplit(url)[:2] != self._origin:
            raise ForgeError(f"the next page of comments is on another host ({url}); stopping")
        return str(url)

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            why = "is nested too deeply" if isinstance(exc, RecursionError) else "is not JSON"
            raise ForgeError(
                f"{response.request.method} {response.request.url.path}: the answer {why}"
            ) from None

    def close(self) -> None:
        self._client.close()


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """The seconds GitHub or GitLab asks to wait when `response` is a rate limit, else None.
    A 403 that neither says "rate limit" nor gives `Retry-After` is a permission the token
    lacks (it may still carry `x-ratelimit-remaining: 0`, as the window's last answer does).
    `now`: the wall clock, as resets are given in epoch seconds."""
    status, headers = response.status_code, response.headers
    after = _retry_after(headers.get("retry-after", ""), now)
    said = "rate limit" in _message(response).lower()
    if status not in (403, 429) or (status == 403 and after is None and not said):
        return None
    if after is not None:
        return after
    for prefix in ("x-ratelimit-", "ratelimit-"):  # GitHub's names, GitLab's names
        if headers.get(prefix + "remaining", "").strip() == "0":
            reset = _number(headers.get(prefix + "reset", ""))
            if reset is not None:
                return max(reset - now, 0.0) + 1.0  # resets are whole seconds: one more
    return UNSPECIFIED_WAIT


def _retry_after(value: str, now: float) -> float | None:
    """`Retry-After`: seconds, or an HTTP date."""
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0) if value else None
    except (TypeError, ValueError):
        return None


def _number(value: str) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _message(response: httpx.Response) -> str:
    """GitHub's `message` (+ errors) or GitLab's `message`/`error`, else the start of the body."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return one_line(response.text[:200]) or response.reason_phrase
    if isinstance(body, dict):
        text = body.get("message") or body.get("error") or ""
        errors = body.get("errors")
        if isinstance(errors, list):
            details = [e.get("message", "") for e in errors if isinstance(e, dict)]
            text = "; ".join(filter(None, [str(text), *details]))
        return one_line(str(text)[:300]) or response.reason_phrase
    return response.reason_phrase
