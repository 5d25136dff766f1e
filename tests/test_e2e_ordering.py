"""Never older over newer: an apply from an ancestor of the live build's commit is skipped."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e_support import World

pytestmark = pytest.mark.timeout(90)


def _git(world: World, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=world.root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _commit(world: World, content: str, when: str) -> str:
    world.write("web/index.html", content)
    _git(world, "add", "-A")
    _git(world, "commit", "-q", "-m", content, "--date", when)
    return _git(world, "rev-parse", "HEAD")


@pytest.fixture
def repo(world):
    world.write(".gitignore", ".comwit/\n")
    _git(world, "init", "-q", "-b", "main")
    return world


def test_an_apply_from_an_ancestor_commit_is_skipped_and_allow_older_lets_it_through(repo):
    older = _commit(repo, "<h1>A</h1>", "2026-01-01T00:00:00Z")
    newer = _commit(repo, "<h1>B</h1>", "2026-01-02T00:00:00Z")
    assert repo.comwit("apply", "--yes").code == 0
    live_b = repo.app("web")["active_build_id"]

    _git(repo, "checkout", "-q", older)
    plan = repo.comwit("plan")
    reason = f"live build comes from a newer commit {newer[:7]} (a descendant of this run's commit {older[:7]})"
    assert f"apply skips this app: {reason}" in plan.out, plan.out
    result = repo.comwit("apply", "--yes")
    assert result.code == 1, result.out + result.err
    assert f"skipped  web  {reason}; not replacing it with an older commit (pass --allow-older" in (
        result.out.replace("skipped     web", "skipped  web")
    )
    assert repo.app("web")["active_build_id"] == live_b

    result = repo.comwit("apply", "--yes", "--allow-older")
    assert result.code == 0, result.out + result.err
    assert repo.app("web")["active_build_id"] != live_b


def test_rollback_is_not_held_back_by_the_ordering_guard(repo):
    older = _commit(repo, "<h1>A</h1>", "2026-01-01T00:00:00Z")
    assert repo.comwit("apply", "--yes").code == 0
    _commit(repo, "<h1>B</h1>", "2026-01-02T00:00:00Z")
    assert repo.comwit("apply", "--yes").code == 0
    _git(repo, "checkout", "-q", older)
    result = repo.comwit("rollback", "web", "--yes")
    assert result.code == 0, result.out + result.err


def test_rollback_records_the_commit_it_was_run_from(repo):
    _commit(repo, "<h1>A</h1>", "2026-01-01T00:00:00Z")
    assert repo.comwit("apply", "--yes").code == 0
    build_a = repo.app("web")["active_build_id"]
    _commit(repo, "<h1>B</h1>", "2026-01-02T00:00:00Z")
    assert repo.comwit("apply", "--yes").code == 0
    _git(repo, "commit", "-q", "--allow-empty", "-m", "C", "--date", "2026-01-03T00:00:00Z")
    head = _git(repo, "rev-parse", "HEAD")
    result = repo.comwit("rollback", "web", "--yes")
    assert result.code == 0, result.out + result.err
    assert repo.app("web")["active_build_id"] == build_a
    assert repo.ledger("web").commit_of(build_a).sha == head
