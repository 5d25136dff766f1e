"""Observe and execute steps, the wire: send one request and read its answer.

The only place where httpx exceptions and error statuses become `comwit.errors` exceptions,
and where answer bodies become models (a body that does not fit is an `ApiResponseError`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from comwit.api import assumed
from comwit.api.limits import MAX_ANSWER_BYTES, Deadline
from comwit.api.models import ProblemDetail
from comwit.errors import (
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
    ApiTransportError,
    BadRequestError,
    ConflictError,
    ConnectFailedError,
    ConnectionDroppedError,
    FeatureDisabledError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    TlsError,
    UnauthorizedError,
    UnexpectedStatusError,
    UpstreamError,
)
from comwit.escape import MAX_PATH_SHOWN, cut, quoted
from comwit.secret import redact

M = TypeVar("M", bound=BaseModel)

_BY_STATUS: Final[dict[int, type[ApiStatusError]]] = {
    400: BadRequestError,
    assumed.STATUS_UNAUTHENTICATED: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
    501: FeatureDisabledError,
    502: UpstreamError,
}
_RAW_DETAIL_LIMIT: Final = 300
# Headers about the bytes on the wire, which no longer describe the decoded body.
_FRAMING: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})
ACCEPT_ENCODING: Final = "gzip"  # the one encoding decoded here, within the cap
_CHECK_URL: Final = "check the API URL (--api-url or COMWIT_API_URL) and the network"


def build_request(method: str, root: str, path: str, **request: Any) -> httpx.Request:
    """The request for `path` under the API's `root`; a value that cannot go into a request
    (a URL longer than httpx sends, a query value that is not UTF-8) is an `ApiError`."""
    try:
        return httpx.Request(method, httpx.URL(root + path), **request)
    except httpx.InvalidURL:
        why = "a value in it is too long for a URL"
    except UnicodeEncodeError:
        why = "a value in it is not UTF-8 text"
    raise ApiError(
        f"{_shown(method, path)} cannot be sent: {why}; check the values it was made of "
        "(options, environment, manifest or saved plan)",
        method=method,
        path=path,
    )


async def send(
    exchange: Callable[[httpx.Request], Awaitable[httpx.Response]],
    request: httpx.Request,
    *,
    deadline: Deadline,
    limit: int = MAX_ANSWER_BYTES,
) -> httpx.Response:
    """Send `request` through `exchange` (which returns the answer with its body unread)
    and read the whole answer, at most `limit` bytes once decoded, all within `deadline`;
    raise an `ApiError` unless it is a 2xx."""
    stage = ["connecting, sending or waiting for the answer"]
    try:
        async with asyncio.timeout(deadline.seconds):
            streamed = await exchange(request)
            stage[0] = "reading the answer"
            try:
                body = await _read_capped(streamed, limit)
            finally:
                await streamed.aclose()
    except (httpx.HTTPError, TimeoutError) as exc:
        _scrub(exc)
        raise _transport_error(exc, request, deadline, stage[0]) from exc
    response = httpx.Response(
        streamed.status_code,
        headers=[(k, v) for k, v in streamed.headers.multi_items() if k not in _FRAMING],
        content=body,
        request=request,
    )
    if not response.is_success:
        raise status_error(response)
    return response


def decode(response: httpx.Response, model: type[M], *, envelope: str | None = None) -> M:
    """The answer's JSON body as `model`, taken from the `envelope` key when there is one."""
    try:
        if envelope is None:
            return model.model_validate_json(response.content)
        return model.model_validate(_unwrap(response, envelope))
    except ValidationError as exc:
        raise _response_error(response, _first_problem(exc)) from exc


def decode_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's body as a JSON object, for documents comwit does not model (the spec)."""
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise _response_error(response, "the body is not JSON") from exc
    except RecursionError:
        raise _response_error(response, "the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise _response_error(response, "the body is not a JSON object")
    return body


def status_error(response: httpx.Response) -> ApiStatusError:
    """The exception for an error status, with the problem detail or the raw body."""
    problem = _problem(response)
    method, path = _where(response.request)
    error_class = _BY_STATUS.get(response.status_code, UnexpectedStatusError)
    return error_class(
        method=method,
        path=path,
        status=response.status_code,
        title=_clean(problem.title),
        detail=_clean(problem.detail),
        code=problem.code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- reading a bounded answer -------------------------------------------------------------


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """The answer's body, decoded, or ApiResponseError once it passes `limit` bytes: an
    endless body or a compression bomb ends there, never in memory exhaustion."""
    if response.is_stream_consumed:  # built in memory (an injected transport): read already
        if len(response.content) > limit:
            raise _too_large(response, limit)
        return response.content
    inflate = _decoder(response)
    declared = response.headers.get("Content-Length", "")
    if inflate is None and declared.isdigit() and int(declared) > limit:
        raise _too_large(response, limit)
    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        chunk = raw if inflate is None else _inflate(response, inflate, raw, limit - size + 1)
        size += len(chunk)
        if size > limit:
            raise _too_large(response, limit)
        parts.append(chunk)
    if inflate is not None and not inflate.eof:
        raise _corrupt(response, "it ends before the gzip stream does")
    return b"".join(parts)


def _inflate(response: httpx.Response, inflate: zlib._Decompress, raw: bytes, most: int) -> bytes:
    try:
        return inflate.decompress(raw, most)
    except zlib.error as exc:
        raise _corrupt(response, str(exc)) from exc


def _corrupt(response: httpx.Response, why: str) -> ApiResponseError:
    return _answer_error(response, f": the answer's gzip encoding is corrupt ({why}); {_CHECK_URL}")


def _decoder(response: httpx.Response) -> zlib._Decompress | None:
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    raise _answer_error(
        response,
        f": the answer is encoded as {quoted(_clean(encoding))}, which comwit did not ask for; "
        f"{_CHECK_URL}",
    )


def _too_large(response: httpx.Response, limit: int) -> ApiResponseError:
    return _answer_error(
        response,
        f": the answer is larger than {limit // (1024 * 1024)} MiB, more than any answer of "
        f"the Comwit API; {_CHECK_URL}",
    )


# -- error statuses ---------------------------------------------------------------------


def _problem(response: httpx.Response) -> ProblemDetail:
    text = response.text
    try:
        problem = ProblemDetail.model_validate_json(text)
    except ValidationError:
        problem = ProblemDetail()
    if problem.detail or problem.title:
        return problem
    return problem.model_copy(update={"detail": text or None})


def _clean(text: str | None) -> str | None:
    """One line, bounded, scrubbed: error text may end up in CI logs."""
    if text is None:
        return None
    line = " ".join(text.split())
    if len(line) > _RAW_DETAIL_LIMIT:
        line = line[: _RAW_DETAIL_LIMIT - 3] + "..."
    return redact(line) or None


# -- 2xx bodies that do not fit ---------------------------------------------------------


def _unwrap(response: httpx.Response, envelope: str) -> object:
    body = decode_object(response)
    if envelope not in body:
        raise _response_error(response, f"the body has no {quoted(envelope)} field")
    return body[envelope]


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    if error["type"] == "json_invalid":
        return "the body is not JSON"
    where = ".".join(str(part) for part in error["loc"]) or "the body"
    return f"{where}: {error['msg']}"


def _response_error(response: httpx.Response, problem: str) -> ApiResponseError:
    return _answer_error(
        response,
        f" answered {response.status_code} with a body comwit cannot read ({problem}); "
        "the API may have changed: check for a newer comwit",
    )


def _answer_error(response: httpx.Response, says: str) -> ApiResponseError:
    """An answer comwit cannot use: `says` follows the request's method and path."""
    method, path = _where(response.request)
    return ApiResponseError(f"{_shown(method, path)}{says}", method=method, path=path)


# -- no usable answer -------------------------------------------------------------------


def _transport_error(
    exc: Exception, request: httpx.Request, deadline: Deadline, stage: str
) -> ApiError:
    method, path = _where(request)
    host = request.url.host
    reason = redact(str(exc) or type(exc).__name__)
    where = _shown(method, path)
    if isinstance(exc, TimeoutError) and not isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(
            f"{where}: {host} did not answer in time: the {deadline.what} passed ({stage}); "
            f"{_maybe_sent(exc)}allow more time with COMWIT_TIMEOUT",
            method=method,
            path=path,
        )
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(
            f"{where}: {host} did not answer in time ({_timeout_kind(exc)}); "
            f"{_maybe_sent(exc)}allow more time with COMWIT_TIMEOUT",
            method=method,
            path=path,
        )
    if _is_tls(exc):
        return TlsError(
            f"{where}: the TLS connection to {host} failed ({reason}); "
            "check the API URL and this machine's CA certificates",
            method=method,
            path=path,
        )
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.UnsupportedProtocol):
        return ConnectFailedError(
            f"{where}: could not connect to {host} ({reason}); {_CHECK_URL}",
            method=method,
            path=path,
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return ConnectionDroppedError(
            f"{where}: the connection to {host} closed before a complete answer ({reason}); "
            "the request may or may not have taken effect",
            method=method,
            path=path,
        )
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        return ApiResponseError(
            f"{where}: {host} sent an answer comwit cannot read ({reason}); {_CHECK_URL}",
            method=method,
            path=path,
        )
    return ApiTransportError(f"{where}: {reason}", method=method, path=path)


def _maybe_sent(exc: Exception) -> str:
    """A request that timed out after it left may still have taken effect: say so."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ""
    return "the request may or may not have taken effect; "


def _timeout_kind(exc: Exception) -> str:
    kinds: dict[type[Exception], str] = {
        httpx.ConnectTimeout: "connecting",
        httpx.ReadTimeout: "waiting for the answer",
        httpx.WriteTimeout: "sending the request",
        httpx.PoolTimeout: "waiting for a free connection",
    }
    return kinds.get(type(exc), "an operation timed out")


def _scrub(exc: BaseException) -> None:
    """Hide secrets in the causes' messages too: tracebacks print the whole chain."""
    for link in _chain(exc):
        if any(isinstance(arg, str) and redact(arg) != arg for arg in link.args):
            link.args = tuple(redact(a) if isinstance(a, str) else a for a in link.args)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes, oldest last; safe against cycles."""
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not link for link in links):
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


def _is_tls(exc: BaseException) -> bool:
    """httpx reports TLS failures as ConnectError; the cause chain holds the ssl error."""
    return any(isinstance(link, ssl.SSLError) for link in _chain(exc))


def _shown(method: str, path: str) -> str:
    """The request as a message names it: a path made long by a long argument is cut."""
    return f"{method} {cut(path, MAX_PATH_SHOWN)}"


def _where(request: httpx.Request) -> tuple[str, str]:
    """Method and escaped path; never the query string, and the token is only in a header."""
    return request.method, request.url.raw_path.split(b"?", 1)[0].decode("ascii")
