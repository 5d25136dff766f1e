"""Refusals: what the emulator answers instead of a result, as problem-detail bodies.

Kept free of web-framework imports so the store (and `comwit emulator token`) works without
the `emulator` extra.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"


class ApiProblem(Exception):
    """A refusal with its status, a sentence for the caller and a stable machine code."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        self.status = status
        self.detail = detail
        self.code = code
        super().__init__(f"{status} {code}: {detail}")

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.detail, self.code)


def problem_body(status: int, detail: str, code: str | None = None) -> dict[str, Any]:
    """`{title, status, detail, code?}`; never carries secrets or internal references."""
    body: dict[str, Any] = {"title": _title(status), "status": status, "detail": detail}
    if code:
        body["code"] = code
    return body


def bad_request(detail: str, code: str = "invalid_request") -> ApiProblem:
    return ApiProblem(400, detail, code)


def forbidden(detail: str, code: str) -> ApiProblem:
    return ApiProblem(403, detail, code)


def not_found(detail: str, code: str) -> ApiProblem:
    return ApiProblem(404, detail, code)


def conflict(detail: str, code: str) -> ApiProblem:
    return ApiProblem(409, detail, code)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
