"""Read the CI's environment once: which CI, repository, pull request, commit, API, token.

GitHub Actions (`GITHUB_ACTIONS=true`), GitLab CI (`GITLAB_CI=true`) or any other CI
(`CI=true`); outside CI every field is empty and nothing about comwit changes. Tokens are
wrapped in `Secret`, so every line comwit prints or writes is scrubbed of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from comwit.ci.tokens import GITHUB_TOKENS, GITLAB_TOKENS, token
from comwit.escape import cut, quoted
from comwit.frozen import frozen
from comwit.preview.names import MAX_PR
from comwit.secret import Secret
from comwit.store.regular import read_bounded

Kind = Literal["github", "gitlab", "other"]

GITHUB_API = "https://api.github.com"
GITLAB_API = "https://gitlab.com/api/v4"
MAX_EVENT_BYTES = 64 << 20  # webhook payloads are at most 25 MB; not read past it
_TRUE = ("true", "1", "yes")
_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")


@frozen
class CiContext:
    """What comwit needs to know of the CI run, as plain values."""

    kind: Kind | None = None  # None: not in CI
    repository: str | None = None  # GitHub `owner/name`; GitLab the project id
    pull_request: int | None = None  # the PR number / MR iid the event names
    sha: str | None = None  # the commit this run is for (a pull request's head)
    api_url: str | None = None
    token: Secret | None = None
    summary_path: Path | None = None  # $GITHUB_STEP_SUMMARY
    output_path: Path | None = None  # $GITHUB_OUTPUT
    dotenv_path: Path | None = None  # $COMWIT_DOTENV: the outputs as a dotenv report
    workspace: Path | None = None  # the checkout: annotation paths are relative to it
    run_url: str | None = None  # this run's page (its job summary) or job log
    event: str | None = None
    fork: bool = False  # the pull request comes from another repository (or a deleted one)
    comment_author: str | None = None  # the login to match when /user cannot tell
    warnings: tuple[str, ...] = ()

    @property
    def github(self) -> bool:
        return self.kind == "github"

    @property
    def forge(self) -> bool:
        """A CI whose pull requests comwit can comment on."""
        return self.kind in ("github", "gitlab")


def detect(environ: Mapping[str, str]) -> CiContext:
    """The CI this process runs in, from its environment variables."""
    if _flag(environ, "GITHUB_ACTIONS"):
        ctx = _github(environ)
    elif _flag(environ, "GITLAB_CI"):
        ctx = _gitlab(environ)
    elif _flag(environ, "CI"):
        ctx = CiContext(kind="other")
    else:
        return CiContext()
    return replace(ctx, dotenv_path=_path(environ, "COMWIT_DOTENV"))


def _github(environ: Mapping[str, str]) -> CiContext:
    said: list[str] = []
    text = _Texts(environ, said)
    event_name = text("GITHUB_EVENT_NAME")
    event, warnings = _event(environ.get("GITHUB_EVENT_PATH"))
    said.extend(warnings)
    number, head = _pull_request(event_name, event)
    if head is not None:
        sha = _commit(head, "the event file's head commit ($GITHUB_EVENT_PATH)", said)
    else:
        sha = _commit(environ.get("GITHUB_SHA"), "GITHUB_SHA", said)
    repository = text("GITHUB_REPOSITORY", _GITHUB_REPOSITORY, "owner/name")
    server = text("GITHUB_SERVER_URL")
    if server is None and not environ.get("GITHUB_SERVER_URL"):
        server = "https://github.com"
    run_id = text("GITHUB_RUN_ID", _DIGITS, "a number")
    return CiContext(
        kind="github",
        repository=repository,
        pull_request=number,
        sha=sha,
        api_url=_api_url(environ, text, "GITHUB_API_URL", GITHUB_API),
        token=token(environ, GITHUB_TOKENS),
        summary_path=_path(environ, "GITHUB_STEP_SUMMARY"),
        output_path=_path(environ, "GITHUB_OUTPUT"),
        workspace=_path(environ, "GITHUB_WORKSPACE"),
        run_url=_run_url(server, repository, run_id),
        event=event_name,
        fork=number is not None and _from_fork(event, repository),
        comment_author=text("COMWIT_GITHUB_COMMENT_AUTHOR"),
        warnings=tuple(said),
    )


def _gitlab(environ: Mapping[str, str]) -> CiContext:
    said: list[str] = []
    text = _Texts(environ, said)
    iid = text("CI_MERGE_REQUEST_IID")
    number = _iid(iid or "")
    if iid is not None and number is None:
        said.append(
            f"CI_MERGE_REQUEST_IID is not a merge request number ({quoted(cut(iid, 80))}); "
            "the merge request is looked up by the commit"
        )
    return CiContext(
        kind="gitlab",
        repository=text("CI_PROJECT_ID", _GITLAB_PROJECT, "a project id or path"),
        pull_request=number,
        sha=_commit(environ.get("CI_COMMIT_SHA"), "CI_COMMIT_SHA", said),
        api_url=_api_url(environ, text, "CI_API_V4_URL", GITLAB_API),
        token=token(environ, GITLAB_TOKENS),
        workspace=_path(environ, "CI_PROJECT_DIR"),
        run_url=text("CI_JOB_URL"),
        event=text("CI_PIPELINE_SOURCE"),
        warnings=tuple(said),
    )


def _api_url(environ: Mapping[str, str], text: _Texts, name: str, default: str) -> str | None:
    """The forge's API URL; None when `name` is set but cannot be used (the token is then
    sent nowhere: not to the public host either, which is not the one the CI meant)."""
    given = text(name)
    if given is None and environ.get(name):
        return None
    return (given or default).rstrip("/")


def _run_url(server: str | None, repository: str | None, run_id: str | None) -> str | None:
    if server is None or repository is None or run_id is None:
        return None
    return f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"


# GitHub: an owner (user or organisation) and a repository name; neither may be . or ..
_GITHUB_REPOSITORY = re.compile(r"(?!\.\.?/)[A-Za-z0-9_.-]{1,100}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}")
# GitLab: the numeric id CI_PROJECT_ID holds, or a namespace path (group/subgroup/project)
_GITLAB_PROJECT = re.compile(
    r"[0-9]{1,20}|(?:(?!\.\.?(?:/|$))[A-Za-z0-9_.-]{1,255}/)+"
    r"(?!\.\.?$)[A-Za-z0-9_.-]{1,255}"
)
_DIGITS = re.compile(r"[0-9]{1,20}")


class _Texts:
    """The CI's variables as text: unset or empty is None, and so is a value with a control
    character or a byte that is not UTF-8 (it would go into URLs, headers and comments) or
    one not of the `shape` asked for; each left out with a warning naming it."""

    def __init__(self, environ: Mapping[str, str], warnings: list[str]) -> None:
        self._environ, self._warnings = environ, warnings

    def __call__(
        self, name: str, shape: re.Pattern[str] | None = None, shaped: str = ""
    ) -> str | None:
        value = self._environ.get(name) or None
        if value is None:
            return None
        shown = quoted(cut(value, 80))
        if not value.isprintable() or any("\ud800" <= char <= "\udfff" for char in value):
            why = "has a control character or a byte that is not UTF-8"
        elif shape is not None and not shape.fullmatch(value):
            why = f"is not {shaped} ({shown})"
        else:
            return value
        self._warnings.append(f"{name} {why}; it is left out")
        return None


_SHA = re.compile(r"[0-9a-f]{7,64}")  # an abbreviated object name to a whole SHA-256 one


def _commit(value: str | None, name: str, warnings: list[str]) -> str | None:
    """The commit the CI names, as git writes it; anything else is said and left out: it is
    given to git (`git show SHA`), where `--output=FILE` would be an option, and to GitHub."""
    sha = (value or "").strip().lower()
    if not sha:
        return None
    if _SHA.fullmatch(sha):
        return sha
    shown = quoted(cut(value or "", 80))
    warnings.append(f"{name} is not a commit SHA ({shown}); no commit is recorded for this run")
    return None


def _event(path: str | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The webhook payload that triggered the run ($GITHUB_EVENT_PATH), or {}."""
    if not path:
        return {}, ()
    try:
        document = json.loads(read_bounded(Path(path), MAX_EVENT_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else _reason(exc)
        return {}, (f"cannot read the event file $GITHUB_EVENT_PATH ({why}); no pull request",)
    return (document, ()) if isinstance(document, dict) else ({}, ())


def _pull_request(name: str | None, event: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The pull request number and head commit the event names, if any."""
    pull = event.get("pull_request")
    if name in _PR_EVENTS and isinstance(pull, dict):
        head = pull.get("head")
        sha = head.get("sha") if isinstance(head, dict) else None
        if pull.get("merged") and isinstance(pull.get("merge_commit_sha"), str):
            sha = pull["merge_commit_sha"]  # `closed` after a merge: what landed on the branch
        return _int(pull.get("number")), sha if isinstance(sha, str) else None
    issue = event.get("issue")
    if name == "issue_comment" and isinstance(issue, dict) and issue.get("pull_request"):
        return _int(issue.get("number")), None
    return None, None


def _from_fork(event: Mapping[str, Any], repository: str | None) -> bool:
    """Whether the event's pull request comes from another repository than this run's. Not
    the head repository's `fork` flag: that says the repository is a fork of another, which
    a run's own repository may well be. A deleted head repository was a fork."""
    pull = event.get("pull_request")
    head = pull.get("head") if isinstance(pull, dict) else None
    if not isinstance(head, dict):
        return False
    repo = head.get("repo")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    if not isinstance(name, str):
        return "repo" in head
    return repository is not None and name.lower() != repository.lower()


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name)
    return Path(value) if value else None


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in _TRUE


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _iid(text: str) -> int | None:
    """A merge request's IID as GitLab gives it (ASCII digits) as a pull request number, else
    None. Twenty digits or more are past MAX_PR, and int() refuses thousands of them."""
    if text.isascii() and text.isdigit() and len(text) < 20:
        return _int(int(text))
    return None


def _int(value: object) -> int | None:
    """A pull request number: a whole number from 1 to MAX_PR, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_PR:
        return value
    return None
