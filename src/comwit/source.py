"""The commit a run deploys, and the ordering guard that asks git about it (an I/O edge).

The commit is the CI's (comwit.ci: GITHUB_SHA, CI_COMMIT_SHA), else `git rev-parse HEAD` of the
manifest's repository; its time and the dirty flag come from git. Git is asked with short
timeouts and its absence is not an error: without a commit, the guard lets everything through.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from comwit.ci.environment import detect
from comwit.plan.ledger import AppLedger, SourceCommit
from comwit.plan.ordering import older_than_live

_GIT_TIMEOUT = 10.0
_CI_NAMES = {"github": "GitHub Actions", "gitlab": "GitLab CI", "other": "CI"}


def run_identity(environ: Mapping[str, str]) -> tuple[str, str]:
    """(holder, run) for an apply lease: the CI's run and its URL, else user@host, host:pid."""
    ci = detect(environ)
    if ci.kind is not None and ci.run_url:
        where = f" of {ci.repository}" if ci.repository else ""
        return f"a {_CI_NAMES[ci.kind]} run{where}", ci.run_url
    host = socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{host}", f"{host}:{os.getpid()}"


def order_guard(root: Path, environ: Mapping[str, str], *, allow_older: bool) -> OrderGuard:
    """The guard for the commit of `root`'s checkout, or the CI's."""
    on_pull_request = detect(environ).pull_request is not None
    return OrderGuard(
        root, read_source(root, environ), allow_older=allow_older, by_history_only=on_pull_request
    )


def read_source(root: Path, environ: Mapping[str, str]) -> SourceCommit | None:
    """The commit this run deploys, or None when neither the CI nor git can tell."""
    sha = (detect(environ).sha or "").strip().lower() or None  # as git writes it
    head = _git(root, "rev-parse", "HEAD")
    if sha is None:
        sha = head
    if sha is None:
        return None
    when = _git(root, "show", "-s", "--format=%ct", sha)
    dirty = head == sha and bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return SourceCommit(sha, int(when) if when and when.isdigit() else None, dirty)


@dataclass
class OrderGuard:
    """Tells whether making a build of `source` live would replace a newer commit."""

    root: Path
    source: SourceCommit | None
    allow_older: bool = False
    # A pull request's head is not on the branch that deploys: its commit time says nothing
    # about which is newer, so only the repository's history decides there.
    by_history_only: bool = False
    _ancestry: dict[str, bool | None] = field(default_factory=dict)

    def check(self, ledger: AppLedger, live_build: str | None) -> str | None:
        """Why this run must not replace `live_build`; None when it may (or is allowed to)."""
        live = ledger.commit_of(live_build)
        if self.source is None or live is None or live.sha == self.source.sha:
            return None
        if live.sha not in self._ancestry:
            self._ancestry[live.sha] = _is_ancestor(self.root, self.source.sha, live.sha)
        ancestor = self._ancestry[live.sha]
        if ancestor is None and self.by_history_only:
            return None
        return older_than_live(self.source, live, ancestor)

    def blocks(self, ledger: AppLedger, live_build: str | None) -> str | None:
        """Like `check`, but None when --allow-older lets it through."""
        return None if self.allow_older else self.check(ledger, live_build)


def _is_ancestor(root: Path, older: str, newer: str) -> bool | None:
    """`git merge-base --is-ancestor`: True, False, or None when git lacks either commit."""
    done = _run_git(root, "merge-base", "--is-ancestor", older, newer)
    return None if done is None else {0: True, 1: False}.get(done.returncode)


def _git(root: Path, *args: str) -> str | None:
    done = _run_git(root, *args)
    return done.stdout.strip() if done is not None and done.returncode == 0 else None


def _run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """git's finished run, or None when git cannot be run or takes too long."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
