"""The GitLab API (v4) client of the living comment: merge-request notes, every page by
`X-Next-Page`, the merge request of a merged commit, and who the token is.

The token (`COMWIT_GITLAB_TOKEN`, a project or personal access token with `api` scope) goes
in the `PRIVATE-TOKEN` header; CI_JOB_TOKEN may not write notes.
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

PAGE_SIZE = 100  # GitLab's largest page; its default is 20
BODY_LIMIT = 1_000_000  # characters of a note: a longer one is refused with 400


class GitLab(HttpForge):
    noun = "merge request"
    body_limit = BODY_LIMIT

    def __init__(
        self,
        api_url: str,
        project: str,
        token: Secret,
        *,
        page_size: int = PAGE_SIZE,
        **options: Unpack[Options],
    ) -> None:
        headers = {"PRIVATE-TOKEN": token.reveal()}
        super().__init__(api_url, headers, **options)
        self._project = f"projects/{quote(project, safe='')}"
        self._page_size = page_size

    def own_login(self) -> str:
        user = self.json(self.request("GET", "user"))
        username = user.get("username") if isinstance(user, dict) else None
        if not isinstance(username, str):
            raise ForgeError("GET /user: the answer has no username")
        return username

    def pull_request_of(self, sha: str) -> int | None:
        """The merge request that merged `sha` (a pipeline on the default branch), if any."""
        path = f"{self._project}/repository/commits/{sha}/merge_requests"
        answer = self.json(self.request("GET", path))
        requests = [m for m in answer if isinstance(m, dict)] if isinstance(answer, list) else []
        done = [m for m in requests if m.get("state") == "merged"]
        merged = [m for m in done if sha in (m.get("merge_commit_sha"), m.get("squash_commit_sha"))]
        chosen = merged or done or requests
        iid = chosen[0].get("iid") if chosen else None
        return iid if isinstance(iid, int) else None

    def is_open(self, number: int) -> bool:
        """Whether merge request `number` is open (ForgeError when GitLab cannot say)."""
        answer = self.json(self.request("GET", f"{self._project}/merge_requests/{number}"))
        state = answer.get("state") if isinstance(answer, dict) else None
        if not isinstance(state, str):
            raise ForgeError(f"GET merge request !{number}: the answer has no state")
        return bool(state == "opened")

    def comments(self, number: int) -> Iterator[Comment]:
        """Every note of the merge request but GitLab's own system notes, oldest first; the
        next page by `X-Next-Page`, or by the `Link` header where a proxy dropped that."""
        url: str | None = f"{self._project}/merge_requests/{number}/notes"
        first = {"per_page": self._page_size, "sort": "asc", "order_by": "created_at"}
        params: dict[str, Any] | None = first | {"page": 1}
        for _ in range(self.max_pages):
            if url is None:
                return
            response = self.request("GET", url, params=params)
            answer = self.json(response)
            for item in answer if isinstance(answer, list) else []:
                note = _note(item)
                if note is not None:
                    yield note
            page = response.headers.get("X-Next-Page")
            if page is None:
                url, params = self.next_link(response), None
            elif page.strip():
                params = first | {"page": page.strip()}
            else:
                url = None
        if url is not None:
            raise ForgeError(
                f"merge request !{number} has more than {self.max_pages} pages of notes; "
                "not looking further"
            )

    def create(self, number: int, body: str) -> Comment:
        path = f"{self._project}/merge_requests/{number}/notes"
        return self._answer(self.request("POST", path, json={"body": body}))

    def update(self, number: int, comment: Comment, body: str) -> Comment:
        path = f"{self._project}/merge_requests/{number}/notes/{comment.id}"
        return self._answer(self.request("PUT", path, json={"body": body}))

    def _answer(self, response: httpx.Response) -> Comment:
        note = _note(self.json(response))
        if note is None:
            raise ForgeError(f"{response.request.method} {response.request.url.path}: no note")
        return note


def _note(item: Any) -> Comment | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or item.get("system"):
        return None
    author = item.get("author")
    username = author.get("username") if isinstance(author, dict) else None
    body = item.get("body")
    return Comment(
        id=item["id"],
        author=username if isinstance(username, str) else "",
        body=body if isinstance(body, str) else "",
    )
