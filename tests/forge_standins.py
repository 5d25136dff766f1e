"""Loopback stand-ins of the GitHub REST API and the GitLab API (v4), as far as comwit's
living comment uses them, behaving like the real ones where it matters:

- a token is required (401 without one, 403 where the real API says "not accessible");
- GitHub pages comments 30 at a time (`per_page` up to 100) with `Link` headers and refuses
  a body over 65,536 characters with 422; `GET /user` is 403 for an installation token
  (GITHUB_TOKEN), whose comments are by `github-actions[bot]`;
- GitLab pages notes 20 at a time (up to 100) with `X-Next-Page`, authenticates with
  `PRIVATE-TOKEN`, hides nothing but marks its own notes `system`;
- rate limits as each API states them: GitHub's primary limit per token (`x-ratelimit-*` on
  every answer; 403 with `x-ratelimit-remaining: 0` and the reset's epoch once spent) and its
  secondary limit (403 "You have exceeded a secondary rate limit", `retry-after` if given);
  GitLab's 429 "Retry later" with `Retry-After` and `RateLimit-*`; a 502 when asked to;
- time passes only when a client sleeps with `StandIn.sleep` (and reads `StandIn.clock`), so
  waiting out a limit costs a test nothing;
- every request is recorded (method, path, query, headers, body).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

GITHUB_BODY_LIMIT = 65_536
GITLAB_BODY_LIMIT = 1_000_000
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


@dataclass(frozen=True)
class Identity:
    login: str
    kind: str = "User"  # GitHub's user.type: User or Bot
    installation: bool = False  # GITHUB_TOKEN / a GitHub App: no GET /user
    can_write: bool = True  # a fork's pull request gets a read-only token


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float  # the stand-in's clock when the request came in


@dataclass
class _State:
    tokens: dict[str, Identity] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by PR / MR
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by commit SHA
    open_prs: dict[int, bool] = field(default_factory=dict)  # PR / MR number -> open
    requests: list[Request] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    lock: threading.Lock = field(default_factory=threading.Lock)
    skew: float = 0.0  # seconds the stand-in's clock is ahead of the real one
    slept: list[float] = field(default_factory=list)
    budgets: dict[str, _Budget] = field(default_factory=dict)  # by token
    refusals: list[_Refusal] = field(default_factory=list)  # the next answers to refuse with
    vanishing: set[int] = field(default_factory=set)  # comment ids deleted once listed
    x_headers_dropped: bool = False  # GitLab behind a proxy that drops X-* headers

    def now(self) -> float:
        return time.time() + self.skew

    def budget(self, token: str, limit: int) -> _Budget:
        """The token's primary rate limit window, renewed once its reset has passed."""
        budget = self.budgets.get(token)
        if budget is None or budget.reset <= self.now():
            budget = self.budgets[token] = _Budget(limit, 0, int(self.now()) + 3600)
        return budget

    def refusal(self, method: str) -> _Refusal | None:
        """The next refusal meant for a `method` request, taken off the list."""
        for refusal in self.refusals:
            if method in refusal.methods:
                self.refusals.remove(refusal)
                return refusal
        return None


@dataclass
class _Budget:
    limit: int
    used: int
    reset: int  # epoch seconds


@dataclass(frozen=True)
class _Refusal:
    kind: str  # "secondary" / "throttle" / "unavailable"
    methods: tuple[str, ...]
    retry_after: int | None = None
    status: int = 403


class StandIn:
    """One running stand-in: its URL, its state, what it was asked."""

    def __init__(self, url: str, state: _State) -> None:
        self.url = url
        self._state = state

    def add_token(self, token: str, identity: Identity) -> None:
        self._state.tokens[token] = identity

    def seed(self, number: int, author: str, body: str, *, system: bool = False) -> int:
        """A comment (or note) already on the pull request."""
        with self._state.lock:
            comment = {"id": next(self._state.ids), "author": author, "body": body}
            comment["system"] = system
            self._state.comments.setdefault(number, []).append(comment)
            return int(comment["id"])

    def merged(self, sha: str, number: int) -> None:
        """`sha` is the merge commit of pull request `number`."""
        self._state.pulls.setdefault(sha, []).append({"number": number, "sha": sha})

    def pull_request(self, number: int, *, is_open: bool) -> None:
        """A pull request (merge request) that exists, open or closed."""
        self._state.open_prs[number] = is_open

    def comments(self, number: int) -> list[dict[str, Any]]:
        return [dict(c) for c in self._state.comments.get(number, [])]

    @property
    def requests(self) -> list[Request]:
        return list(self._state.requests)

    def writes(self) -> list[Request]:
        return [r for r in self._state.requests if r.method in ("POST", "PATCH", "PUT")]

    def clear(self) -> None:
        self._state.requests.clear()

    def vanish_after_listing(self, comment_id: int) -> None:
        """Delete the comment right after a listing shows it, as if a person deleted it then."""
        self._state.vanishing.add(comment_id)

    def drop_x_headers(self) -> None:
        """Answer without X-Page, X-Next-Page, X-Total...: only the `Link` header pages."""
        self._state.x_headers_dropped = True

    def clock(self) -> float:
        """The stand-in's wall clock (epoch seconds): give it to a client as its clock."""
        return self._state.now()

    def sleep(self, seconds: float) -> None:
        """A client's sleep: the stand-in's clock moves on at once."""
        self._state.slept.append(seconds)
        self._state.skew += seconds

    @property
    def slept(self) -> list[float]:
        return list(self._state.slept)

    def spend(self, token: str, *, left: int, reset_in: int = 60, limit: int = 1000) -> int:
        """The primary rate limit of `token`: `left` requests until a reset in `reset_in` s
        (whole epoch seconds, as GitHub gives it). Returns the reset."""
        budget = self._state.budget(token, limit)
        budget.used = limit - left
        budget.reset = int(self._state.now()) + reset_in
        return budget.reset

    def secondary_limit(
        self,
        times: int = 1,
        *,
        retry_after: int | None = None,
        methods: tuple[str, ...] = ("POST", "PATCH", "PUT"),
        status: int = 403,
    ) -> None:
        """The next `times` requests of `methods` hit GitHub's secondary rate limit."""
        refusal = _Refusal("secondary", methods, retry_after, status)
        self._state.refusals += [refusal] * times

    def throttle(
        self, times: int = 1, *, retry_after: int = 30, methods: tuple[str, ...] = ("GET",)
    ) -> None:
        """The next `times` requests of `methods` get GitLab's 429 "Retry later"."""
        self._state.refusals += [_Refusal("throttle", methods, retry_after, 429)] * times

    def unavailable(self, times: int = 1, *, methods: tuple[str, ...] = ("GET",)) -> None:
        """The next `times` requests of `methods` get a 502 from the load balancer."""
        self._state.refusals += [_Refusal("unavailable", methods, None, 502)] * times


@contextmanager
def github_standin() -> Iterator[StandIn]:
    with _serve(_GitHubHandler, "") as standin:
        yield standin


@contextmanager
def gitlab_standin() -> Iterator[StandIn]:
    with _serve(_GitLabHandler, "/api/v4") as standin:
        yield standin


@contextmanager
def _serve(handler: type[_Handler], prefix: str) -> Iterator[StandIn]:
    state = _State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield StandIn(f"http://127.0.0.1:{server.server_port}{prefix}", state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def state(self) -> _State:
        return self.server.state  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.state.lock:
            self.state.requests.append(
                Request(method, split.path, query, headers, body, self.state.now())
            )
        with self.state.lock:
            refused = self.refuse(method, headers)
        if refused is None:
            status, answer, extra = self.route(method, split.path, query, headers, body)
        else:
            status, answer, extra = refused
        raw_answer = isinstance(answer, bytes)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        kind = "text/plain" if raw_answer else "application/json"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def refuse(
        self, method: str, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]] | None:
        """A rate limit or an outage instead of the route's answer, when one is due."""
        refusal = self.state.refusal(method)
        if refusal is None:
            return None
        if refusal.kind == "unavailable":
            return 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {}
        return self.limited(refusal)

    def limited(self, refusal: _Refusal) -> tuple[int, Any, dict[str, str]]:
        extra = {} if refusal.retry_after is None else {"Retry-After": str(refusal.retry_after)}
        return refusal.status, {"message": SECONDARY}, extra

    def base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    def _vanish(self, listed: list[dict[str, Any]]) -> None:
        """Delete the comments meant to vanish once listed (a person deleting one meanwhile)."""
        for comment in listed:
            if comment["id"] in self.state.vanishing:
                for comments in self.state.comments.values():
                    if comment in comments:
                        comments.remove(comment)


def _page(query: dict[str, str], default: int) -> tuple[int, int]:
    page = max(int(query.get("page", "1") or 1), 1)
    per_page = min(max(int(query.get("per_page", str(default)) or default), 1), 100)
    return page, per_page


_GH_COMMENTS = re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments")
_GH_REPO_ID_COMMENTS = re.compile(r"/repositories/(\d+)/issues/(\d+)/comments")
_REPO_ID = 4242  # GitHub's next-page links name the repository by its id
_GH_COMMENT = re.compile(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)")
_GH_PULLS = re.compile(r"/repos/([^/]+)/([^/]+)/commits/([0-9a-f]+)/pulls")
_GH_PULL = re.compile(r"/repos/([^/]+)/([^/]+)/pulls/(\d+)")
_NOT_ACCESSIBLE = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest",
    "status": "403",
}


class _GitHubHandler(_Handler):
    def refuse(
        self, method: str, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]] | None:
        """GitHub's primary limit first (an answer that counts against it says so), then any
        refusal due. A request refused for the primary limit does not count."""
        self._rate: dict[str, str] = {}
        token = headers.get("authorization", "").removeprefix("Bearer ").removeprefix("token ")
        me = self.state.tokens.get(token)
        if me is None:
            return super().refuse(method, headers)
        budget = self.state.budget(token, 1000 if me.installation else 5000)
        spent = budget.used >= budget.limit
        if not spent:
            budget.used += 1
        self._rate = {
            "x-ratelimit-limit": str(budget.limit),
            "x-ratelimit-remaining": str(budget.limit - budget.used),
            "x-ratelimit-used": str(budget.used),
            "x-ratelimit-reset": str(budget.reset),
            "x-ratelimit-resource": "core",
        }
        if spent:
            message = "API rate limit exceeded for installation ID 4242."
            return 403, {"message": message, "documentation_url": "https://docs.github.com"}, {}
        return super().refuse(method, headers)

    def end_headers(self) -> None:
        for key, value in getattr(self, "_rate", {}).items():
            self.send_header(key, value)
        super().end_headers()

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").removeprefix("token ")
        me = self.state.tokens.get(token) if auth else None
        if me is None:
            return (
                401,
                {"message": "Requires authentication" if not auth else "Bad credentials"},
                {},
            )
        if path == "/user" and method == "GET":
            if me.installation:
                return 403, _NOT_ACCESSIBLE, {}
            return 200, {"login": me.login, "id": 1, "type": me.kind}, {}
        if (match := _GH_PULLS.fullmatch(path)) and method == "GET":
            pulls = self.state.pulls.get(match[3], [])
            answer = [
                {
                    "number": p["number"],
                    "state": "closed",
                    "merged_at": "2026-01-01T00:00:00Z",
                    "merge_commit_sha": p["sha"],
                }
                for p in pulls
            ]
            return 200, answer, {}
        if (match := _GH_PULL.fullmatch(path)) and method == "GET":
            state = self.state.open_prs.get(int(match[3]))
            if state is None:
                return 404, {"message": "Not Found"}, {}
            return 200, {"number": int(match[3]), "state": "open" if state else "closed"}, {}
        if (match := _GH_REPO_ID_COMMENTS.fullmatch(path)) and method == "GET":
            return self._list(query, int(match[2]))
        if match := _GH_COMMENTS.fullmatch(path):
            number = int(match[3])
            if method == "GET":
                return self._list(query, number)
            if method == "POST":
                return self._write(me, body, number=number)
        if (match := _GH_COMMENT.fullmatch(path)) and method == "PATCH":
            return self._write(me, body, comment_id=int(match[3]))
        return 404, {"message": "Not Found"}, {}

    def _list(self, query: dict[str, str], number: int) -> tuple[int, Any, dict[str, str]]:
        page, per_page = _page(query, 30)
        everything = self.state.comments.get(number, [])
        last = max((len(everything) + per_page - 1) // per_page, 1)
        chunk = everything[(page - 1) * per_page : page * per_page]
        links = []

        def link(n: int, rel: str) -> str:
            return (
                f"<{self.base()}/repositories/{_REPO_ID}/issues/{number}/comments?"
                f'{urlencode({"per_page": per_page, "page": n})}>; rel="{rel}"'
            )

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        self._vanish(chunk)
        return 200, [self._json(c) for c in chunk], ({"Link": ", ".join(links)} if links else {})

    def _write(
        self, me: Identity, body: Any, *, number: int | None = None, comment_id: int | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        if not me.can_write:
            return 403, _NOT_ACCESSIBLE, {}
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"field": "body", "code": "missing_field"}],
                },
                {},
            )
        if len(text) > GITHUB_BODY_LIMIT:
            error = {
                "resource": "IssueComment",
                "code": "custom",
                "field": "body",
                "message": "body is too long (maximum is 65536 characters)",
            }
            return 422, {"message": "Validation Failed", "errors": [error]}, {}
        author = "github-actions[bot]" if me.installation else me.login
        with self.state.lock:
            if comment_id is None:
                assert number is not None
                comment = {
                    "id": next(self.state.ids),
                    "author": author,
                    "body": text,
                    "system": False,
                }
                self.state.comments.setdefault(number, []).append(comment)
                return 201, self._json(comment), {}
            for comments in self.state.comments.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        comment["body"] = text
                        return 200, self._json(comment), {}
        return 404, {"message": "Not Found"}, {}

    def _json(self, comment: dict[str, Any]) -> dict[str, Any]:
        bot = comment["author"].endswith("[bot]")
        return {
            "id": comment["id"],
            "html_url": f"https://github.example/o/r/pull/1#issuecomment-{comment['id']}",
            "user": {"login": comment["author"], "type": "Bot" if bot else "User"},
            "body": comment["body"],
        }


_GL_NOTES = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes")
_GL_NOTE = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)")
_GL_MRS = re.compile(r"/api/v4/projects/([^/]+)/repository/commits/([0-9a-f]+)/merge_requests")
_GL_MR = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)")


class _GitLabHandler(_Handler):
    def limited(self, refusal: _Refusal) -> tuple[int, Any, dict[str, str]]:
        if refusal.kind != "throttle":
            return super().limited(refusal)
        after = refusal.retry_after or 60
        reset = self.state.now() + after
        extra = {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": "2000",
            "RateLimit-Observed": "2001",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(reset)),
            "RateLimit-ResetTime": formatdate(reset, usegmt=True),
            "Retry-After": str(after),
        }
        return 429, b"Retry later\n", extra

    def route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        me = self.state.tokens.get(headers.get("private-token", ""))
        if me is None:
            return 401, {"message": "401 Unauthorized"}, {}
        if path == "/api/v4/user" and method == "GET":
            return 200, {"id": 1, "username": me.login}, {}
        if (match := _GL_MRS.fullmatch(path)) and method == "GET":
            pulls = self.state.pulls.get(match[2], [])
            answer = [
                {"iid": p["number"], "state": "merged", "merge_commit_sha": p["sha"]} for p in pulls
            ]
            return 200, answer, {}
        if (match := _GL_MR.fullmatch(path)) and method == "GET":
            state = self.state.open_prs.get(int(match[2]))
            if state is None:
                return 404, {"message": "404 Not found"}, {}
            return 200, {"iid": int(match[2]), "state": "opened" if state else "closed"}, {}
        if match := _GL_NOTES.fullmatch(path):
            number = int(match[2])
            if method == "GET":
                return self._list(path, query, number)
            if method == "POST":
                return self._write(me, body, number, None)
        if (match := _GL_NOTE.fullmatch(path)) and method == "PUT":
            return self._write(me, body, int(match[2]), int(match[3]))
        return 404, {"message": "404 Not found"}, {}

    def _list(
        self, path: str, query: dict[str, str], number: int
    ) -> tuple[int, Any, dict[str, str]]:
        page, per_page = _page(query, 20)
        everything = self.state.comments.get(number, [])
        pages = max((len(everything) + per_page - 1) // per_page, 1)
        chunk = everything[(page - 1) * per_page : page * per_page]

        def link(n: int, rel: str) -> str:
            kept = {k: v for k, v in query.items() if k not in ("page", "per_page")}
            page_query = urlencode({"page": n, "per_page": per_page, **kept})
            return f'<{self.base()}{path}?{page_query}>; rel="{rel}"'

        links = [link(page + 1, "next")] if page < pages else []
        links += [link(page - 1, "prev")] if page > 1 else []
        links += [link(1, "first"), link(pages, "last")]
        headers = {"Link": ", ".join(links)}
        if not self.state.x_headers_dropped:
            headers |= {
                "X-Page": str(page),
                "X-Per-Page": str(per_page),
                "X-Next-Page": str(page + 1) if page < pages else "",
                "X-Prev-Page": str(page - 1) if page > 1 else "",
                "X-Total": str(len(everything)),
                "X-Total-Pages": str(pages),
            }
        self._vanish(chunk)
        return 200, [self._json(c) for c in chunk], headers

    def _write(
        self, me: Identity, body: Any, number: int, note_id: int | None
    ) -> tuple[int, Any, dict[str, str]]:
        if not me.can_write:
            return 403, {"message": "403 Forbidden"}, {}
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return 400, {"message": "400 Bad request - body is missing"}, {}
        if len(text) > GITLAB_BODY_LIMIT:
            return 400, {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}, {}
        with self.state.lock:
            notes = self.state.comments.setdefault(number, [])
            if note_id is None:
                note = {
                    "id": next(self.state.ids),
                    "author": me.login,
                    "body": text,
                    "system": False,
                }
                notes.append(note)
                return 201, self._json(note), {}
            for note in notes:
                if note["id"] == note_id:
                    if note["author"] != me.login:
                        return 403, {"message": "403 Forbidden"}, {}
                    note["body"] = text
                    return 200, self._json(note), {}
        return 404, {"message": "404 Note Not Found"}, {}

    def _json(self, note: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": note["id"],
            "body": note["body"],
            "author": {"username": note["author"]},
            "system": note.get("system", False),
        }
