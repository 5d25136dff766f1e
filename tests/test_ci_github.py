"""The living comment on GitHub, against a loopback stand-in of the REST API."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from comwit.ci.comment import upsert
from comwit.ci.forge import ForgeError
from comwit.ci.github import ACTIONS_BOT, GitHub
from comwit.secret import Secret

from tests.ci_support import MARKER
from tests.forge_standins import Identity, github_standin

TOKEN = "ghp_standin_user_token"


@pytest.fixture
def github():
    with github_standin() as standin:
        standin.add_token(TOKEN, Identity("deployer"))
        yield standin


@pytest.fixture
def client():
    """Make clients of the stand-in; each is closed when the test ends."""
    made = []

    def make(standin, token=TOKEN, **kwargs):
        made.append(GitHub(standin.url, "acme/shop", Secret(token), **kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_the_first_comment_is_one_post(github, client):
    posted = upsert(client(github), 7, MARKER, MARKER + "\nplan v1", create=True)
    assert posted.done == "created"
    assert [(r.method, r.path) for r in github.writes()] == [
        ("POST", "/repos/acme/shop/issues/7/comments")
    ]
    assert github.comments(7)[0]["body"] == MARKER + "\nplan v1"


def test_the_comment_is_found_on_page_three_behind_seventy_others(github, client):
    for n in range(70):
        github.seed(7, "reviewer", f"comment {n}")
    mine = github.seed(7, "deployer", MARKER + "\nplan v1")
    posted = upsert(client(github, page_size=30), 7, MARKER, MARKER + "\nplan v2", create=True)
    assert posted.done == "updated"
    lists = [r for r in github.requests if r.method == "GET" and "comments" in r.path]
    assert [r.query.get("page", "1") for r in lists] == ["1", "2", "3"]
    # The next pages are where GitHub's Link header says: under the repository's id.
    assert [r.path for r in lists[1:]] == ["/repositories/4242/issues/7/comments"] * 2
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/shop/issues/comments/{mine}")
    ]
    assert len(github.comments(7)) == 71


def test_every_page_is_read_at_the_default_page_size_too(github, client):
    for n in range(230):
        github.seed(7, "reviewer", f"comment {n}")
    github.seed(7, "deployer", MARKER + "\nold")
    assert upsert(client(github), 7, MARKER, MARKER + "\nnew", create=True).done == "updated"
    assert len([r for r in github.requests if r.method == "GET" and "comments" in r.path]) == 3


def test_a_comment_of_another_user_with_the_same_marker_is_left_alone(github, client):
    theirs = github.seed(7, "mallory", MARKER + "\nfake plan")
    posted = upsert(client(github), 7, MARKER, MARKER + "\nreal plan", create=True)
    assert posted.done == "created"
    assert github.comments(7)[0] == {
        "id": theirs,
        "author": "mallory",
        "body": MARKER + "\nfake plan",
        "system": False,
    }


def test_a_quoted_marker_is_not_our_comment(github, client):
    github.seed(7, "deployer", "> " + MARKER + "\n> plan\n\nlooks good")
    assert upsert(client(github), 7, MARKER, MARKER + "\nplan", create=True).done == "created"


def test_an_installation_token_matches_comments_by_github_actions_bot(github, client):
    github.add_token("ghs_installation", Identity("my-repo", installation=True))
    first = upsert(client(github, "ghs_installation"), 7, MARKER, MARKER + "\nv1", create=True)
    second = upsert(client(github, "ghs_installation"), 7, MARKER, MARKER + "\nv2", create=True)
    assert (first.done, second.done) == ("created", "updated")
    assert [c["author"] for c in github.comments(7)] == [ACTIONS_BOT]
    user = [r for r in github.requests if r.path == "/user"]
    assert len(user) == 2  # asked each time, answered 403 each time


def test_the_same_body_is_not_written_again(github, client):
    github.seed(7, "deployer", MARKER + "\nsame")
    assert upsert(client(github), 7, MARKER, MARKER + "\nsame", create=True).done == "unchanged"
    assert github.writes() == []


def test_no_comment_is_created_when_not_asked_to(github, client):
    assert upsert(client(github), 7, MARKER, MARKER + "\nno changes", create=False).done == "none"
    assert github.writes() == []


def test_a_read_only_token_is_a_403_forge_error(github, client):
    github.add_token("ghs_fork", Identity("fork", installation=True, can_write=False))
    with pytest.raises(ForgeError) as caught:
        upsert(client(github, "ghs_fork"), 7, MARKER, MARKER + "\nplan", create=True)
    assert caught.value.status == 403
    assert "Resource not accessible by integration" in str(caught.value)


def test_a_body_over_65536_characters_is_refused_with_422(github, client):
    with pytest.raises(ForgeError) as caught:
        upsert(client(github), 7, MARKER, MARKER + "x" * 70_000, create=True)
    assert caught.value.status == 422 and "too long" in str(caught.value)


def test_a_wrong_token_is_401_and_never_shown(github, client):
    with pytest.raises(ForgeError) as caught:
        upsert(client(github, "ghp_wrong_token_value"), 7, MARKER, MARKER, create=True)
    assert caught.value.status == 401
    assert "ghp_wrong_token_value" not in str(caught.value)


def test_pages_are_bounded(github, client):
    for n in range(100):
        github.seed(7, "reviewer", f"comment {n}")
    with pytest.raises(ForgeError, match="more than 2 pages"):
        upsert(client(github, page_size=30, max_pages=2), 7, MARKER, MARKER, create=True)


def test_the_pull_request_of_a_merge_commit(github, client):
    github.merged("c" * 40, 12)
    assert client(github).pull_request_of("c" * 40) == 12
    assert client(github).pull_request_of("d" * 40) is None
    assert github.requests[-1].path == f"/repos/acme/shop/commits/{'d' * 40}/pulls"


def test_requests_carry_the_token_and_the_api_version(github, client):
    client(github).own_login()
    request = github.requests[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"].startswith("comwit/")


def test_no_answer_is_a_forge_error_not_a_hang():
    forge = GitHub("http://127.0.0.1:9", "acme/shop", Secret(TOKEN))
    with pytest.raises(ForgeError, match="GET"):
        forge.own_login()
    forge.close()


class _Timeouts(httpx.HTTPTransport):
    """A real transport that notes the read timeout each request was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.read.append(request.extensions["timeout"]["read"])
        return super().handle_request(request)


def test_a_server_that_never_answers_is_given_up_on_after_one_request_timeout():
    from comwit.ci.forge import HttpForge

    sent = _Timeouts()
    with socket.socket() as server:  # listens, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        forge = HttpForge(url, {}, transport=sent, timeout=0.3, deadline=600)
        with pytest.raises(ForgeError, match="GET user failed: ReadTimeout"):
            forge.request("GET", "user")
        forge.close()
    assert sent.read == [0.3]  # one try, bounded by the request's timeout, not the deadline's


def test_a_request_gets_no_more_time_than_the_deadline_has_left(github):
    from comwit.ci.forge import HttpForge

    sent = _Timeouts()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    forge = HttpForge(github.url, headers, transport=sent, timeout=600, deadline=20)
    forge.request("GET", "user")
    forge.close()
    assert len(sent.read) == 1
    assert 0 < sent.read[0] <= 20


def test_after_the_deadline_no_request_is_sent(github):
    from comwit.ci.forge import HttpForge

    forge = HttpForge(github.url, {}, deadline=0)
    with pytest.raises(ForgeError, match="gave up"):
        forge.request("GET", "user")
    forge.close()
    assert github.requests == []


def test_a_comment_deleted_after_it_was_listed_is_posted_again(github, client):
    mine = github.seed(7, "deployer", MARKER + "\nplan v1")
    github.vanish_after_listing(mine)
    posted = upsert(client(github), 7, MARKER, MARKER + "\nplan v2", create=True)
    assert posted.done == "created"
    assert [r.method for r in github.writes()] == ["PATCH", "POST"]
    assert [c["body"] for c in github.comments(7)] == [MARKER + "\nplan v2"]


def test_a_deleted_comment_is_not_posted_again_when_there_is_nothing_to_say(github, client):
    github.vanish_after_listing(github.seed(7, "deployer", MARKER + "\nplan v1"))
    assert upsert(client(github), 7, MARKER, MARKER + "\nno changes", create=False).done == "none"
    assert github.comments(7) == []


@contextlib.contextmanager
def _answering(send) -> Iterator[str]:
    """A loopback server whose every answer `send(handler)` writes; its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with contextlib.suppress(OSError):  # the client gave up and closed
                send(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _dribble(handler: BaseHTTPRequestHandler) -> None:
    """A 200 whose body comes a byte every 0.1 s: each read is in time, the whole never."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(200):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)


def test_an_answer_that_dribbles_in_is_given_up_on_at_the_deadline():
    """Each byte came before the read timeout, so the deadline was never looked at again:
    `plan --comment` waited for as long as the server went on (forever, for a hostile one)."""
    from comwit.ci.forge import HttpForge

    with _answering(_dribble) as url:
        forge = HttpForge(url, {}, timeout=5, deadline=1.0)
        started = time.monotonic()
        with pytest.raises(ForgeError) as exc:
            forge.request("GET", "user")
        forge.close()
    assert time.monotonic() - started < 5
    assert str(exc.value) == "GET user: gave up, the answer took longer than 1 s to arrive"


def _headers_dribble(handler: BaseHTTPRequestHandler) -> None:
    """A 200 whose header lines come one every 0.1 s, without end (until the test stops)."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for n in range(300):
        handler.wfile.write(b"X-Padding-%d: a\r\n" % n)
        handler.wfile.flush()
        time.sleep(0.1)


def test_headers_that_dribble_in_are_given_up_on_at_the_deadline():
    """httpx bounds each read, and each header line came in time: `plan --comment` waited
    for as long as the server went on sending them."""
    from comwit.ci.forge import HttpForge

    with _answering(_headers_dribble) as url:
        forge = HttpForge(url, {}, timeout=5, deadline=1.0)
        started = time.monotonic()
        with pytest.raises(ForgeError) as exc:
            forge.request("GET", "user")
        waited = time.monotonic() - started
        forge.close()
    assert 1.0 <= waited < 4
    assert str(exc.value) == "GET user: gave up, the answer took longer than 1 s to arrive"


def _answer(status: int, body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return send


def test_an_answer_nested_too_deeply_is_a_forge_error_not_a_bug():
    with _answering(_answer(200, b"[" * 100_000 + b"]" * 100_000)) as url:
        forge = GitHub(url, "acme/shop", Secret(TOKEN))
        with pytest.raises(ForgeError, match=r"^GET /user: the answer is nested too deeply$"):
            forge.own_login()
        forge.close()
    with _answering(_answer(422, b"[" * 100_000 + b"]" * 100_000)) as url:
        forge = GitHub(url, "acme/shop", Secret(TOKEN))
        with pytest.raises(ForgeError, match=r"^GET user failed with 422: "):
            forge.own_login()
        forge.close()


def test_an_error_message_of_several_lines_is_said_on_one():
    body = b'{"message": "Validation Failed\\nline two\\nline three"}'
    with _answering(_answer(422, body)) as url:
        forge = GitHub(url, "acme/shop", Secret(TOKEN))
        with pytest.raises(ForgeError) as exc:
            forge.own_login()
        forge.close()
    assert str(exc.value) == r"GET user failed with 422: Validation Failed\nline two\nline three"


def test_an_answer_past_the_size_bound_is_refused_there(monkeypatch):
    from comwit.ci import forge as forge_module

    monkeypatch.setattr(forge_module, "MAX_BODY", 1000)
    with _answering(_answer(200, b'"' + b"x" * 5000 + b'"')) as url:
        forge = forge_module.HttpForge(url, {})
        with pytest.raises(ForgeError, match=r"^GET user: the answer is larger than 0 MiB$"):
            forge.request("GET", "user")
        forge.close()


def test_an_injected_transport_and_a_compressed_answer_are_read_as_before():
    """A transport that hands back answers already read (httpx.MockTransport, respx) raised
    StreamConsumed once answers were read in chunks; gzip is decoded once, and counted."""
    import gzip
    import json

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user":
            return httpx.Response(200, json={"login": "comwit-bot"})
        body = gzip.compress(json.dumps({"message": "Not Found"}).encode())
        return httpx.Response(404, content=body, headers={"Content-Encoding": "gzip"})

    forge = GitHub(
        "https://api.github.test",
        "acme/shop",
        Secret(TOKEN),
        transport=httpx.MockTransport(handler),
    )
    assert forge.own_login() == "comwit-bot"
    with pytest.raises(
        ForgeError, match=r"^GET repos/acme/shop/pulls/7 failed with 404: Not Found$"
    ):
        forge.is_open(7)
    forge.close()


def test_a_body_that_is_not_the_encoding_it_says_is_a_forge_error():
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", "9")
        handler.end_headers()
        handler.wfile.write(b"not gzip!")

    from comwit.ci.forge import HttpForge

    with _answering(send) as url:
        forge = HttpForge(url, {})
        with pytest.raises(ForgeError, match=r"^GET user failed: DecodingError"):
            forge.request("GET", "user")
        forge.close()
