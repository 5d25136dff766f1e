"""The one living comment per (manifest, project, environment) on a pull request.

Found by its marker line among every comment of the pull request, and only among those the
token's own user wrote; updated in place, created only when asked to. Moves from the plan
(each push) to "applied" (the merge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

from comwit.ci.environment import CiContext
from comwit.ci.forge import Comment, Forge, ForgeError
from comwit.escape import cut, quoted
from comwit.frozen import frozen

if TYPE_CHECKING:
    import httpx

Done = Literal["created", "updated", "unchanged", "none"]


@frozen
class Posted:
    done: Done
    number: int
    noun: str
    url: str | None = None

    def describe(self) -> str:
        where = f"{self.noun} {'!' if self.noun == 'merge request' else '#'}{self.number}"
        match self.done:
            case "created":
                said = f"Posted the comment on {where}"
            case "updated":
                said = f"Updated the comment on {where}"
            case "unchanged":
                said = f"The comment on {where} is up to date"
            case "none":
                return f"No comment on {where}: nothing to say (use --comment-on always to post)"
        return said + (f": {self.url}" if self.url else "")


def open_forge(ctx: CiContext, transport: httpx.BaseTransport | None = None) -> Forge:
    """The client for the CI's pull request host; `ForgeError` when it cannot be made."""
    if ctx.token is None:
        raise ForgeError(_NO_TOKEN[ctx.kind or "other"])
    token_names, url_name = _NAMES.get(ctx.kind or "other", _NAMES["other"])
    if not ctx.repository:
        raise ForgeError("the CI names no repository (GITHUB_REPOSITORY / CI_PROJECT_ID)")
    if not ctx.api_url:
        raise ForgeError(f"{url_name} cannot be used (see the warning about it)")
    if not all("!" <= char <= "~" for char in ctx.token.reveal()):
        raise ForgeError(  # never sent, so never echoed back in an error about its header
            f"the CI token ({token_names}) has a space, a control character or a character "
            "that is not ASCII, which no token has; fix the secret"
        )
    _check_api_url(ctx.api_url, url_name)
    if ctx.kind == "github":
        from comwit.ci.github import GitHub

        return GitHub(
            ctx.api_url,
            ctx.repository,
            ctx.token,
            comment_author=ctx.comment_author,
            transport=transport,
        )
    if ctx.kind == "gitlab":
        from comwit.ci.gitlab import GitLab

        return GitLab(ctx.api_url, ctx.repository, ctx.token, transport=transport)
    raise ForgeError(_NO_TOKEN["other"])


_NAMES = {  # the token's variables, the API URL's variable
    "github": ("COMWIT_GITHUB_TOKEN / GITHUB_TOKEN", "GITHUB_API_URL"),
    "gitlab": ("COMWIT_GITLAB_TOKEN", "CI_API_V4_URL"),
    "other": ("COMWIT_GITHUB_TOKEN / COMWIT_GITLAB_TOKEN", "the API URL"),
}


def _check_api_url(url: str, name: str) -> None:
    """The token goes to `url`: held to COMWIT_API_URL's rules (https, or plain http to this
    machine; no user name, password or query of its own)."""
    from urllib.parse import urlsplit

    from comwit.api.credentials import token_url_refusal

    refused = token_url_refusal(url)
    if refused == "malformed":
        raise ForgeError(f"{name} is not a URL; fix it")
    if refused == "credentials":
        raise ForgeError(f"{name} must not hold a user name, password, query or fragment")
    if refused == "scheme":
        raise ForgeError(f"{name} ({quoted(cut(url, 80))}) is not an http(s) URL; fix it")
    if refused == "plain_http":
        raise ForgeError(
            f"refusing plain http:// for {urlsplit(url).hostname} ({name}): the token would "
            "travel unencrypted"
        )


def find_number(ctx: CiContext, forge: Forge) -> int | None:
    """The pull request the run is for: the event's, else the one that merged the commit."""
    if ctx.pull_request is not None:
        return ctx.pull_request
    return forge.pull_request_of(ctx.sha) if ctx.sha else None


def upsert(forge: Forge, number: int, marker: str, body: str, *, create: bool) -> Posted:
    """Update our comment carrying `marker`, or create it when `create` and there is none
    (or it was deleted between listing and updating it)."""
    login = forge.own_login()
    mine = find_comment(forge.comments(number), marker, login)
    if mine is not None:
        if mine.body == body:
            return Posted("unchanged", number, forge.noun, mine.url)
        try:
            updated = forge.update(number, mine, body)
        except ForgeError as exc:
            if exc.status != 404:
                raise
            # Deleted since it was listed: it is missing now, as if it had never been.
        else:
            return Posted("updated", number, forge.noun, updated.url or mine.url)
    if not create:
        return Posted("none", number, forge.noun)
    created = forge.create(number, body)
    return Posted("created", number, forge.noun, created.url)


def find_comment(comments: Iterable[Comment], marker: str, login: str) -> Comment | None:
    """The first comment by `login` with `marker` as one of its lines (quoting it in a reply
    prefixes `> `, so a quote never matches). Logins compare as GitHub does: any case."""
    for comment in comments:
        if comment.author.lower() == login.lower() and marker in comment.body.splitlines():
            return comment
    return None


def find_marked(
    comments: Iterable[Comment], matches: Callable[[str], bool], login: str
) -> Comment | None:
    """The first comment by `login` with a line that `matches` (see `find_comment`)."""
    for comment in comments:
        if comment.author.lower() == login.lower() and any(map(matches, comment.body.splitlines())):
            return comment
    return None


def run_link(ctx: CiContext) -> str:
    """A comment's link to the CI run that wrote it, as tfcmt's "CI link"."""
    if not ctx.run_url:
        return ""
    return f"<sub>[{'Job log' if ctx.kind == 'gitlab' else 'Workflow run'}]({ctx.run_url})</sub>"


FAILED = "<!-- comwit:failed -->"  # the first line of a notice that the comment is out of date


def with_notice(body: str, notice: str) -> str:
    """`body` (its marker line first) with `notice` right under the marker line, in place of
    the notice an earlier failed run left there."""
    marker, _, rest = body.partition("\n")
    if rest.startswith(FAILED):
        rest = rest.partition("\n\n")[2]
    return f"{marker}\n{FAILED}\n{notice}\n\n{rest}"


_NO_TOKEN = {
    "github": (
        "no token to comment with: give the step `GITHUB_TOKEN: ${{ github.token }}` "
        "(with `permissions: pull-requests: write`) or set COMWIT_GITHUB_TOKEN"
    ),
    "gitlab": (
        "no token to comment with: set COMWIT_GITLAB_TOKEN to a project access token with the "
        "api scope (CI_JOB_TOKEN may not write merge-request notes)"
    ),
    "other": "--comment works in GitHub Actions and GitLab CI; this CI has no comment to update",
}
