"""What comwit asks of GitHub or GitLab to keep its comment, and the one HTTP wrapper both
clients share: every request bounded in time, every listing bounded in pages, every failure
one `ForgeError` (a warning for the user, never a failed deploy).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from comwit import __version__
from comwit.frozen import frozen
from comwit.secret import redact

if TYPE_CHECKING:
    import httpx

REQUEST_TIMEOUT = 10.0  # seconds, each request
DEADLINE = 60.0  # seconds, all requests of one comment together
MAX_PAGES = 50  # of 100 comments each


@frozen
class Comment:
    id: int
    author: str  # login / username
    body: str
    url: str | None = None


class ForgeError(Exception):
    """A request to GitHub or GitLab failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(redact(message))


class Forge(Protocol):
    """A pull request host, as far as the living comment needs one."""

    noun: str  # "pull request" / "merge request"

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
    ) -> None:
        import httpx  # only when a comment is asked for: start-up stays fast

        self._httpx = httpx
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": f"comwit/{__version__}", **headers},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._deadline = deadline
        self._ends = time.monotonic() + deadline
        self.max_pages = max_pages

    def request(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One request; an error status or no answer raises `ForgeError`."""
        what = f"{method} {url.split('?', 1)[0]}"
        left = self._ends - time.monotonic()
        if left <= 0:
            raise ForgeError(f"{what}: gave up, the requests took longer than {self._deadline:g} s")
        timeout = min(left, self._client.timeout.read or REQUEST_TIMEOUT)
        try:
            response = self._client.request(
                method, url.lstrip("/"), json=json, params=params, timeout=timeout
            )
        except self._httpx.HTTPError as exc:
            raise ForgeError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return response
        raise ForgeError(
            f"{what} failed with {response.status_code}: {_message(response)}",
            status=response.status_code,
        )

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ForgeError(
                f"{response.request.method} {response.request.url.path}: the answer is not JSON"
            ) from None

    def close(self) -> None:
        self._client.close()


def _message(response: httpx.Response) -> str:
    """GitHub's `message` (+ errors) or GitLab's `message`/`error`, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        text = body.get("message") or body.get("error") or ""
        errors = body.get("errors")
        if isinstance(errors, list):
            details = [e.get("message", "") for e in errors if isinstance(e, dict)]
            text = "; ".join(filter(None, [str(text), *details]))
        return str(text)[:300] or response.reason_phrase
    return response.reason_phrase
