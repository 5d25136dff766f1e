"""Errors: one base, one branch per pipeline stage, split by who is at fault.

    ComwitError                      the user can act on it; exit code 1
    ├── ManifestError                comwit.toml: every problem at once (file:line:col: field: what)
    ├── ArtifactError                a build directory cannot be digested or packed
    ├── CredentialsError             no token, a malformed token, a refused API URL
    ├── ConsoleError                 stdout or stderr will not take comwit's output (a full disk)
    ├── ApiError                     talking to the Comwit API (method, path)
    │   ├── ApiStatusError           an error status (status, title, detail, code)
    │   │   ├── BadRequestError          400
    │   │   ├── UnauthorizedError        401
    │   │   ├── ForbiddenError           403
    │   │   ├── NotFoundError            404
    │   │   ├── ConflictError            409
    │   │   ├── RateLimitedError         429
    │   │   ├── FeatureDisabledError     501
    │   │   ├── UpstreamError            502
    │   │   └── UnexpectedStatusError    any other status
    │   ├── ApiResponseError         a 2xx answer whose body is not what the contract says
    │   └── ApiTransportError        no usable answer at all
    │       ├── ConnectFailedError       could not connect (refused, DNS, unreachable)
    │       ├── ApiTimeoutError          connect, read or write timed out
    │       ├── ConnectionDroppedError   the connection closed mid-request
    │       └── TlsError                 the TLS handshake or certificate failed
    ├── PlanError                    a plan cannot be made or read
    │   ├── StalePlanError           a saved plan no longer matches the manifest, build dirs or API
    │   └── TamperedPlanError        a saved plan's actions are not those its manifest implies
    └── ApplyError                   apply finished with failures (the summary says which)

Anything else escaping a command is a bug: exit code 3.
httpx exceptions become ApiError subclasses in exactly one place, `comwit.api.transport`.
"""

from __future__ import annotations

from comwit.escape import MAX_PATH_SHOWN, cut, cut_path, one_line
from comwit.exit_codes import EXIT_ERROR
from comwit.frozen import frozen


def os_reason(exc: OSError) -> str:
    """An OSError as a message says it: "permission denied", not "[Errno 13] ...: 'x'"."""
    return (exc.strerror or str(exc)).lower()


class ComwitError(Exception):
    """An error the user can act on; its message is one or more complete sentences."""

    exit_code = EXIT_ERROR


class ConsoleError(ComwitError):
    """Stdout or stderr would not take comwit's output (a full disk): what was not shown is
    lost, so the command stops."""


# -- manifest -------------------------------------------------------------------------


@frozen(order=True)
class Problem:
    """One thing wrong in a manifest, located as precisely as the source allows."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = one_line(cut_path(self.file))
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {one_line(cut(self.field, MAX_PATH_SHOWN))}:" if self.field else ""
        return f"{where}:{field} {one_line(self.message)}"


class ManifestError(ComwitError):
    """The manifest is missing, unreadable or invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _problem_order(p: Problem) -> tuple[str, int, int, str, str]:
    return (p.file, p.line or 0, p.column or 0, p.field, p.message)


# -- artifacts --------------------------------------------------------------------------


class ArtifactError(ComwitError):
    """A build directory cannot be digested or packed."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


# -- credentials ------------------------------------------------------------------------


class CredentialsError(ComwitError):
    """No usable token or API URL. Messages never contain the token itself."""


# -- API --------------------------------------------------------------------------------


class ApiError(ComwitError):
    """Talking to the Comwit API failed. `path` never contains the token (it is a header)."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(message)


class ApiStatusError(ApiError):
    """The API answered with an error status and (maybe) a problem-detail body."""

    status: int = 0
    hint = ""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.retry_after = retry_after  # seconds, from a Retry-After header
        what = detail or title or "no detail given"
        message = f"{method} {cut(path, MAX_PATH_SHOWN)} failed with {status}: {what}"
        if self.hint:
            message += f" ({self.hint})"
        super().__init__(message, method=method, path=path)


class BadRequestError(ApiStatusError):
    status = 400
    hint = "the API refused the input"


TOKEN_ADVICE = "check COMWIT_TOKEN, or the comwit CLI's config file"


class UnauthorizedError(ApiStatusError):
    status = 401
    hint = f"the token was refused: {TOKEN_ADVICE}"


class ForbiddenError(ApiStatusError):
    # Some services answer 403, not 401, for a token they do not know: say both.
    status = 403
    hint = (
        "the token lacks the scope for this call or is not a member of the project, "
        f"or the token itself was refused: {TOKEN_ADVICE}"
    )


class NotFoundError(ApiStatusError):
    status = 404
    hint = "check the project id and app name"


class ConflictError(ApiStatusError):
    status = 409
    hint = "it conflicts with existing state"


class RateLimitedError(ApiStatusError):
    status = 429
    hint = "the API is limiting the rate of requests; retry later"


class FeatureDisabledError(ApiStatusError):
    status = 501
    hint = "the feature is not enabled on this service"


class UpstreamError(ApiStatusError):
    status = 502
    hint = "the Comwit control plane failed; retry later"


class UnexpectedStatusError(ApiStatusError):
    """Any status the contract does not name (413, 500, 503, ...)."""


class ApiResponseError(ApiError):
    """A success status with a body that does not match the contract."""


class ApiTransportError(ApiError):
    """No usable answer: the request may or may not have reached the server."""


class ConnectFailedError(ApiTransportError):
    pass


class ApiTimeoutError(ApiTransportError):
    pass


class ConnectionDroppedError(ApiTransportError):
    pass


class TlsError(ApiTransportError):
    pass


# -- plan and apply ---------------------------------------------------------------------


class PlanError(ComwitError):
    """A plan cannot be made, or a saved plan cannot be read."""


class StalePlanError(PlanError):
    """A saved plan no longer matches what it was made from."""


class TamperedPlanError(PlanError):
    """A saved plan whose actions differ from the ones its manifest and observations imply."""


class ApplyError(ComwitError):
    """Apply finished, but some apps failed or were skipped; the summary says which."""
