"""The living comment on GitLab (a merge-request note), against a loopback stand-in."""

from __future__ import annotations

import pytest

from comwit.ci.comment import upsert
from comwit.ci.forge import ForgeError
from comwit.ci.gitlab import GitLab
from comwit.secret import Secret

from tests.forge_standins import Identity, gitlab_standin

MARKER = "<!-- comwit:plan manifest=comwit.toml project=proj environment=prod -->"
TOKEN = "glpat-standin-token"


@pytest.fixture
def gitlab():
    with gitlab_standin() as standin:
        standin.add_token(TOKEN, Identity("deploy-bot"))
        yield standin


@pytest.fixture
def client():
    """Make clients of the stand-in; each is closed when the test ends."""
    made = []

    def make(standin, token=TOKEN, **kwargs):
        made.append(GitLab(standin.url, "1234", Secret(token), **kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_first_note_then_the_same_note_updated_on_a_later_page(gitlab, client):
    for n in range(44):
        gitlab.seed(3, "reviewer", f"note {n}")
    gitlab.seed(3, "deploy-bot", MARKER + "\nsystem notes are GitLab's own", system=True)
    assert upsert(client(gitlab), 3, MARKER, MARKER + "\nv1", create=True).done == "created"
    gitlab.clear()
    assert (
        upsert(client(gitlab, page_size=20), 3, MARKER, MARKER + "\nv2", create=True).done
        == "updated"
    )
    pages = [
        r.query["page"] for r in gitlab.requests if r.method == "GET" and r.path.endswith("/notes")
    ]
    assert pages == ["1", "2", "3"]
    writes = [(r.method, r.path) for r in gitlab.writes()]
    mine = gitlab.comments(3)[-1]
    assert writes == [("PUT", f"/api/v4/projects/1234/merge_requests/3/notes/{mine['id']}")]
    assert mine["body"] == MARKER + "\nv2"


def test_a_note_of_another_user_is_left_alone(gitlab, client):
    gitlab.seed(3, "someone", MARKER + "\ncopied")
    assert upsert(client(gitlab), 3, MARKER, MARKER + "\nmine", create=True).done == "created"
    assert [n["author"] for n in gitlab.comments(3)] == ["someone", "deploy-bot"]


def test_the_token_goes_in_private_token_and_is_required(gitlab, client):
    client(gitlab).own_login()
    assert gitlab.requests[0].headers["private-token"] == TOKEN
    with pytest.raises(ForgeError) as caught:
        client(gitlab, "glpat-wrong").own_login()
    assert caught.value.status == 401


def test_a_token_that_may_not_write_is_a_403(gitlab, client):
    gitlab.add_token("glpat-reporter", Identity("reporter", can_write=False))
    with pytest.raises(ForgeError) as caught:
        upsert(client(gitlab, "glpat-reporter"), 3, MARKER, MARKER, create=True)
    assert caught.value.status == 403


def test_the_merge_request_of_a_merge_commit(gitlab, client):
    gitlab.merged("e" * 40, 9)
    assert client(gitlab).pull_request_of("e" * 40) == 9
    assert client(gitlab).pull_request_of("0" * 40) is None


def test_notes_are_paged_by_link_where_a_proxy_dropped_the_x_headers(gitlab, client):
    gitlab.drop_x_headers()
    for n in range(45):
        gitlab.seed(3, "reviewer", f"note {n}")
    mine = gitlab.seed(3, "deploy-bot", MARKER + "\nv1")
    posted = upsert(client(gitlab, page_size=20), 3, MARKER, MARKER + "\nv2", create=True)
    assert posted.done == "updated"
    lists = [r for r in gitlab.requests if r.method == "GET" and r.path.endswith("/notes")]
    assert [r.query["page"] for r in lists] == ["1", "2", "3"]
    assert all(r.query["sort"] == "asc" and r.query["per_page"] == "20" for r in lists)
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in gitlab.writes()] == [("PUT", str(mine))]


def test_a_note_deleted_after_it_was_listed_is_posted_again(gitlab, client):
    gitlab.vanish_after_listing(gitlab.seed(3, "deploy-bot", MARKER + "\nv1"))
    assert upsert(client(gitlab), 3, MARKER, MARKER + "\nv2", create=True).done == "created"
    assert [c["body"] for c in gitlab.comments(3)] == [MARKER + "\nv2"]
