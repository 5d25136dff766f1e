"""The GitHub REST API client of the living comment: who am I, which pull request merged
this commit, the issue comments of a pull request (every page, by `Link` headers), create
and update one.

`GITHUB_TOKEN` is an installation token: GitHub answers 403 to `GET /user` for it, and its
comments are written by `github-actions[bot]`; comwit then matches that login (or
`COMWIT_GITHUB_COMMENT_AUTHOR`, for a GitHub App's own token).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import quote

from comwit.ci.forge import Comment, ForgeError, HttpForge
from comwit.secret import Secret

if TYPE_CHECKING:
    import httpx

    from comwit.ci.forge import Options

ACTIONS_BOT = "github-actions[bot]"
PAGE_SIZE = 100  # GitHub's largest page; its default is 30
BODY_LIMIT = 65_536  # characters: a longer comment is refused with 422


class GitHub(HttpForge):
    noun = "pull request"
    body_limit = BODY_LIMIT

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: Secret,
        *,
        comment_author: str | None = None,
        page_size: int = PAGE_SIZE,
        **options: Unpack[Options],
    ) -> None:
        headers = {
            "Authorization": f"Bearer {token.reveal()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        super().__init__(api_url, headers, **options)
        self._repo = "/".join(quote(part, safe="") for part in repository.split("/", 1))
        self._author = comment_author
        self._page_size = page_size

    def own_login(self) -> str:
        """The login the token comments as."""
        if self._author:
            return self._author
        try:
            user = self.json(self.request("GET", "user"))
        except ForgeError as exc:
            if exc.status == 403 and not exc.rate_limited:  # GITHUB_TOKEN may not read /user
                return ACTIONS_BOT
            raise
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str):
            raise ForgeError("GET /user: the answer has no login")
        return login

    def pull_request_of(self, sha: str) -> int | None:
        """The pull request that merged `sha` (a push to the main branch), if any."""
        answer = self.json(self.request("GET", f"repos/{self._repo}/commits/{sha}/pulls"))
        pulls = [p for p in answer if isinstance(p, dict)] if isinstance(answer, list) else []
        merged = [p for p in pulls if p.get("merge_commit_sha") == sha and p.get("merged_at")]
        chosen = merged or [p for p in pulls if p.get("merged_at")] or pulls
        number = chosen[0].get("number") if chosen else None
        return number if isinstance(number, int) else None

    def is_open(self, number: int) -> bool:
        """Whether pull request `number` is open (ForgeError when GitHub cannot say)."""
        answer = self.json(self.request("GET", f"repos/{self._repo}/pulls/{number}"))
        state = answer.get("state") if isinstance(answer, dict) else None
        if state not in ("open", "closed"):
            raise ForgeError(f"GET pull request #{number}: the answer has no state")
        return bool(state == "open")

    def comments(self, number: int) -> Iterator[Comment]:
        """Every comment of the pull request, oldest first, following `rel="next"` links."""
        url: str | None = f"repos/{self._repo}/issues/{number}/comments?per_page={self._page_size}"
        for _ in range(self.max_pages):
            if url is None:
                return
            response = self.request("GET", url)
            answer = self.json(response)
            for item in answer if isinstance(answer, list) else []:
                comment = _comment(item)
                if comment is not None:
                    yield comment
            url = self.next_link(response)
        if url is not None:
            raise ForgeError(
                f"pull request #{number} has more than {self.max_pages} pages of comments; "
                "not looking further"
            )

    def create(self, number: int, body: str) -> Comment:
        path = f"repos/{self._repo}/issues/{number}/comments"
        return self._answer(self.request("POST", path, json={"body": body}))

    def update(self, number: int, comment: Comment, body: str) -> Comment:
        path = f"repos/{self._repo}/issues/comments/{comment.id}"
        return self._answer(self.request("PATCH", path, json={"body": body}))

    def _answer(self, response: httpx.Response) -> Comment:
        comment = _comment(self.json(response))
        if comment is None:
            raise ForgeError(f"{response.request.method} {response.request.url.path}: no comment")
        return comment


def _comment(item: Any) -> Comment | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        return None
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    body = item.get("body")
    url = item.get("html_url")
    return Comment(
        id=item["id"],
        author=login if isinstance(login, str) else "",
        body=body if isinstance(body, str) else "",
        url=url if isinstance(url, str) else None,
    )
