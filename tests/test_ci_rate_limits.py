"""Rate limits and brief outages of GitHub and GitLab, against the loopback stand-ins: waited
out when the API says how long and the wait fits in the deadline, never retried when the 403
is a permission, never waited for longer than the run allows."""

from __future__ import annotations

import pytest

from comwit.ci.comment import upsert
from comwit.ci.forge import MAX_TRIES, ForgeError
from comwit.ci.github import GitHub
from comwit.ci.gitlab import GitLab
from comwit.secret import Secret

from tests.ci_support import GITHUB_TOKEN, GITLAB_TOKEN, MARKER
from tests.forge_standins import Identity


@pytest.fixture
def forge():
    """A client of a stand-in that sleeps and tells time by the stand-in's clock."""
    made = []

    def make(standin, *, deadline=60):
        kind, token, repo = (
            (GitLab, GITLAB_TOKEN, "1234")
            if standin.url.endswith("/api/v4")
            else (GitHub, GITHUB_TOKEN, "acme/shop")
        )
        options = {"sleep": standin.sleep, "clock": standin.clock, "deadline": deadline}
        made.append(kind(standin.url, repo, Secret(token), **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def writes(standin):
    return [r.method for r in standin.requests if r.method != "GET"]


def test_a_secondary_rate_limit_is_waited_out_for_its_retry_after(github, forge):
    github.secondary_limit(retry_after=7)
    posted = upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True)
    assert posted.done == "created"
    assert github.slept == [7]
    assert writes(github) == ["POST", "POST"]
    assert len(github.comments(7)) == 1


def test_a_spent_primary_limit_waits_until_its_reset(github, forge):
    reset = github.spend(GITHUB_TOKEN, left=0, reset_in=20)
    posted = upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True)
    assert posted.done == "created"
    (slept,) = github.slept
    assert slept <= 22
    first, again = github.requests[:2]
    assert first.path == again.path == "/user"
    assert first.at < reset <= again.at  # asked again only once the window had reset


def test_a_limit_longer_than_the_deadline_gives_up_at_once_and_says_so(github, forge):
    github.spend(GITHUB_TOKEN, left=0, reset_in=3000)
    with pytest.raises(ForgeError, match=r"rate limited .* waiting \d+ s would take more") as exc:
        upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True)
    assert exc.value.rate_limited and exc.value.status == 403
    assert github.slept == [] and len(github.requests) == 1


def test_a_secondary_limit_without_retry_after_waits_a_minute_only_if_the_run_has_one(
    github, forge
):
    github.secondary_limit(status=429)
    with pytest.raises(ForgeError, match="secondary rate limit"):
        upsert(forge(github, deadline=30), 7, MARKER, MARKER + "\nplan", create=True)
    assert github.slept == []
    github.secondary_limit()
    posted = upsert(forge(github, deadline=90), 7, MARKER, MARKER + "\nplan", create=True)
    assert posted.done == "created" and github.slept == [60]


def test_a_forbidden_write_is_not_a_rate_limit_and_is_sent_once(github, forge):
    github.add_token(GITHUB_TOKEN, Identity("fork", installation=True, can_write=False))
    with pytest.raises(ForgeError, match="Resource not accessible by integration") as exc:
        upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True)
    assert exc.value.status == 403 and not exc.value.rate_limited
    assert writes(github) == ["POST"] and github.slept == []


def test_retries_are_bounded(github, forge):
    github.secondary_limit(10, retry_after=1)
    with pytest.raises(ForgeError, match=f"after {MAX_TRIES} tries"):
        upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True)
    assert writes(github) == ["POST"] * MAX_TRIES
    assert github.slept == [1] * (MAX_TRIES - 1)


def test_a_502_is_asked_again_for_a_read_but_a_create_is_never_sent_twice(github, forge):
    github.unavailable(2, methods=("GET",))
    assert upsert(forge(github), 7, MARKER, MARKER + "\nplan", create=True).done == "created"
    assert github.slept == [1, 2]
    github.unavailable(1, methods=("PATCH",))
    assert upsert(forge(github), 7, MARKER, MARKER + "\nv2", create=True).done == "updated"
    github.unavailable(1, methods=("POST",))
    with pytest.raises(ForgeError, match="failed with 502"):
        upsert(forge(github), 8, MARKER, MARKER + "\nplan", create=True)
    assert writes(github) == ["POST", "PATCH", "PATCH", "POST"]
    assert github.comments(8) == []


def test_gitlab_429_is_waited_out_for_its_retry_after(gitlab, forge):
    gitlab.throttle(retry_after=5, methods=("GET",))
    assert upsert(forge(gitlab), 3, MARKER, MARKER + "\nplan", create=True).done == "created"
    assert gitlab.slept == [5]
    gitlab.throttle(retry_after=600, methods=("PUT",))
    with pytest.raises(ForgeError, match="rate limited") as exc:
        upsert(forge(gitlab), 3, MARKER, MARKER + "\nv2", create=True)
    assert exc.value.status == 429 and "Retry later" in str(exc.value)


def test_the_stand_in_counts_each_tokens_requests_and_refuses_past_the_windows_last(github, forge):
    forge(github).own_login()
    forge(github).own_login()
    assert [r.path for r in github.requests] == ["/user", "/user"]
    github.spend(GITHUB_TOKEN, left=1, reset_in=60)
    forge(github).own_login()  # the last one of the window: answered
    with pytest.raises(ForgeError, match="API rate limit exceeded"):
        forge(github, deadline=30).own_login()
