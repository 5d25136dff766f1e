"""The commit a run deploys (the CI's, else git's, with the dirty flag) and the ordering
guard's questions to git, in a real temporary repository."""

from __future__ import annotations

import subprocess

from comwit.plan.ledger import AppLedger, SourceCommit
from comwit.source import order_guard, read_source


def _git(root, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _repo(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "comwit.toml").write_text("version = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "one", "--date", "2026-01-01T00:00:00Z")
    return _git(tmp_path, "rev-parse", "HEAD")


def _live(sha: str, time: int | None) -> AppLedger:
    return AppLedger().record_activation("b1", keep=5, source=SourceCommit(sha, time))


def test_the_commit_comes_from_git_with_its_time_and_the_dirty_flag(tmp_path):
    head = _repo(tmp_path)
    clean = read_source(tmp_path, {})
    assert clean is not None and (clean.sha, clean.dirty) == (head, False)
    assert clean.time == int(_git(tmp_path, "show", "-s", "--format=%ct", head))
    (tmp_path / "comwit.toml").write_text("version = 1\n# edited\n")
    dirty = read_source(tmp_path, {})
    assert dirty is not None and dirty.dirty


def test_the_ci_commit_wins_and_no_git_means_no_commit(tmp_path):
    _repo(tmp_path)
    ci = read_source(tmp_path, {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "A" * 40})
    assert ci == SourceCommit("a" * 40, None, False)
    assert read_source(tmp_path / "nowhere", {}) is None


def test_a_live_commit_git_does_not_have_is_compared_by_time_except_on_a_pull_request(tmp_path):
    _repo(tmp_path)
    unknown_newer = _live("f" * 40, 2_000_000_000)
    guard = order_guard(tmp_path, {}, allow_older=False)
    assert (guard.check(unknown_newer, "b1") or "").startswith(
        "live build comes from a newer commit fffffff (committed"
    )
    pull_request = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
    }
    (tmp_path / "event.json").write_text('{"pull_request": {"number": 7, "head": {"sha": "x"}}}')
    assert order_guard(tmp_path, pull_request, allow_older=False).check(unknown_newer, "b1") is None
    assert order_guard(tmp_path, {}, allow_older=True).blocks(unknown_newer, "b1") is None
