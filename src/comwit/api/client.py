"""Observe and execute steps: every route of the Comwit API as one typed async method.

Apps are addressed by id. Reads and idempotent writes are retried (see `routes` and
`retry`); a deploy, an app create and a rollback are sent once: after a lost answer the
caller re-reads state.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self
from urllib.parse import quote
from urllib.request import getproxies

import httpx

from comwit import __version__
from comwit.api import assumed
from comwit.api.limits import DEFAULT_REQUEST_SECONDS, Deadline, Deadlines
from comwit.api.models import (
    App,
    AppDeleteReport,
    AppEnvelope,
    AppList,
    Build,
    BuildList,
    DeployResult,
    Domain,
    DomainAttachment,
    DomainList,
    EnvList,
    EnvPutResult,
    EnvVar,
    LogPage,
    LogQuery,
    Project,
    ProjectDomain,
    ProjectDomainEnvelope,
    ProjectDomainList,
    ProjectList,
    RollbackResult,
)
from comwit.api.pool import DEFAULT_SIZE, REPLAYABLE, ConnectionPool
from comwit.api.retry import DEFAULT_RETRY, Pacing, RetryPolicy, is_rate_limited, with_retries
from comwit.api.routes import Route, retry_of
from comwit.api.transport import ACCEPT_ENCODING, build_request, decode, decode_object, send
from comwit.api.upload import (
    Progress,
    deploy_query,
    open_artifact,
    stream_chunks,
)
from comwit.errors import (
    ApiError,
    ApiResponseError,
    BadRequestError,
    UnexpectedStatusError,
)
from comwit.secret import Secret

DEFAULT_TIMEOUT: Final = DEFAULT_REQUEST_SECONDS
DEFAULT_CONNECTIONS: Final = DEFAULT_SIZE
DnsMode = Literal["external_records", "managed_project_domain"]


def _tls(base_url: str) -> ssl.SSLContext | bool:
    """How to check certificates: against the CA bundle for an https API. A plain-http one
    (the emulator on loopback) needs no bundle, and loading it costs ~50 ms at every start;
    its context still requires a valid certificate, so no https request could pass with it."""
    if base_url.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _pool(verify: ssl.SSLContext | bool, connections: int) -> ConnectionPool | None:
    """comwit's keep-alive pool; None when the environment names a proxy, which httpx then
    reaches through its own transport (it honours proxies only when given none)."""
    if any(scheme in getproxies() for scheme in ("http", "https", "all")):
        return None
    context = verify if isinstance(verify, ssl.SSLContext) else None
    return ConnectionPool(size=connections, ssl_context=context)


class ComwitClient:
    """An async client for one API base URL and token; use it as an async context manager."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        deadlines: Deadlines | None = None,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> None:
        """`connections`: how many requests may be in flight at once (and idle connections
        kept), unless `transport` carries them."""
        self.base_url = base_url
        self._token = token
        self._retry = retry
        self._timeout = timeout
        self._deadlines = deadlines or Deadlines(request=timeout)
        self._pacing = Pacing(sleep=sleep, clock=clock, jitter=jitter)
        self._requests_sent = 0
        verify = _tls(base_url)
        self._root = str(httpx.URL(base_url)).rstrip("/")
        self._headers = {
            "User-Agent": f"comwit/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._carrier = transport or _pool(verify, connections)
        # Without one (a proxy from the environment), httpx's client picks its own transport.
        self._proxied = None
        if self._carrier is None:
            limits = httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
            # Each request carries its own timeouts (`_request`): the client needs none.
            self._proxied = httpx.AsyncClient(verify=verify, limits=limits)

    @property
    def timeout(self) -> float:
        """Seconds each network operation may take (a request's total: `deadlines`)."""
        return self._timeout

    @property
    def deadlines(self) -> Deadlines:
        """The total time each request may take (uploads: by their size)."""
        return self._deadlines

    def keep_connections(self, count: int) -> None:
        """Let at least `count` requests be in flight at once from now on (urgent ones have
        the pool's reserve besides: `api.pool.urgent`): the pool grows.
        An injected transport, or httpx's behind a proxy, keeps the limits it was made with."""
        if isinstance(self._carrier, ConnectionPool):
            self._carrier.grow(count)

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests_sent

    def __repr__(self) -> str:
        return f"ComwitClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._carrier is not None:
            await self._carrier.aclose()
        if self._proxied is not None:
            await self._proxied.aclose()

    # -- projects and apps ----------------------------------------------------------------

    async def list_projects(self) -> tuple[Project, ...]:
        response = await self._call("GET", _v1("projects"), route="list_projects")
        return decode(response, ProjectList).projects

    async def list_apps(self, project: str) -> tuple[App, ...]:
        response = await self._call("GET", _v1("projects", project, "apps"), route="list_apps")
        return decode(response, AppList).apps

    async def get_app(self, project: str, app_id: str) -> App:
        """The app, whether the answer wraps it (`assumed.APP_ENVELOPE`) or not. Prefer
        `find_app`: no public client calls this route."""
        path = _v1("projects", project, "apps", app_id)
        response = await self._call("GET", path, route="get_app")
        if assumed.APP_ENVELOPE in decode_object(response):
            return decode(response, AppEnvelope).app
        return decode(response, App)

    async def find_app(self, project: str, app_id: str) -> App | None:
        """The app with this id, read through the list route (whose shape the official
        client confirms); None when the project has no such app."""
        return next((a for a in await self.list_apps(project) if a.app_id == app_id), None)

    async def create_app(self, project: str, name: str) -> App:
        path = _v1("projects", project, "apps")
        response = await self._call("POST", path, route="create_app", json={"name": name})
        return decode(response, App, envelope="app")

    async def delete_app(self, project: str, app_id: str) -> AppDeleteReport:
        """Repeat the DELETE until the API reports the app completely gone: every
        `assumed.APP_DELETE_INTERVAL` seconds, at most `APP_DELETE_MAX_ROUNDS` times."""
        path = _v1("projects", project, "apps", app_id)
        for round_ in range(assumed.APP_DELETE_MAX_ROUNDS):
            if round_:
                await self._pacing.sleep(assumed.APP_DELETE_INTERVAL)
            report = decode(await self._call("DELETE", path, route="delete_app"), AppDeleteReport)
            if report.complete:
                return report
        waited = assumed.APP_DELETE_INTERVAL * (assumed.APP_DELETE_MAX_ROUNDS - 1)
        problems = f" (it reports: {'; '.join(report.errors)})" if report.errors else ""
        raise ApiError(
            f"DELETE {path} still reports the app as partly deleted after "
            f"{assumed.APP_DELETE_MAX_ROUNDS} tries over {waited:g} s{problems}; "
            "run the command again later",
            method="DELETE",
            path=path,
        )

    # -- builds -----------------------------------------------------------------------------

    async def deploy(
        self,
        project: str,
        app_id: str,
        artifact: Path,
        *,
        hosts: Sequence[str] = (),
        env_ref: str | None = None,
        max_concurrent_requests: int | None = None,
        progress: Progress | None = None,
    ) -> DeployResult:
        """Upload `artifact` as the app's new active build. Sent once, never retried."""
        path = _v1("projects", project, "apps", app_id, "deployments")
        with open_artifact(artifact) as (file, size):
            limit = self._deadlines.for_upload(size)
            response = await self._call(
                "POST",
                path,
                route="deploy",
                params=deploy_query(hosts, env_ref, max_concurrent_requests),
                content=stream_chunks(file, size, progress),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                timeout=httpx.Timeout(self._timeout, read=limit.seconds),
                deadline=limit,
            )
        return decode(response, DeployResult)

    async def list_builds(self, project: str, app_id: str) -> tuple[Build, ...]:
        path = _v1("projects", project, "apps", app_id, "builds")
        return decode(await self._call("GET", path, route="list_builds"), BuildList).builds

    async def rollback(self, project: str, app_id: str, build_id: str) -> RollbackResult:
        """Re-activate an existing build. Sent once, never retried.

        No public client calls this route: its body is `assumed.ROLLBACK_BODY_FIELD`, and an
        answer that refuses the body or cannot be read says so."""
        path = _v1("projects", project, "apps", app_id, "rollbacks")
        body = {assumed.ROLLBACK_BODY_FIELD: build_id}
        try:
            response = await self._call("POST", path, route="rollback", json=body)
            return decode(response, RollbackResult)
        except (BadRequestError, ApiResponseError) as exc:
            raise _assumption_failed(exc, _ROLLBACK_ASSUMPTION) from exc
        except UnexpectedStatusError as exc:
            if exc.status not in (405, 415, 422):
                raise
            raise _assumption_failed(exc, _ROLLBACK_ASSUMPTION) from exc

    # -- logs -----------------------------------------------------------------------------

    async def list_logs(self, project: str, app_id: str, query: LogQuery | None = None) -> LogPage:
        """One page of the app's log, newest first (see `comwit.logs` for all of them).
        Without `query`, the route's own defaults (its tail, every line)."""
        path = _v1("projects", project, "apps", app_id, "logs")
        params = {} if query is None else _log_params(query)
        return decode(await self._call("GET", path, route="list_logs", params=params), LogPage)

    # -- project domains (managed DNS) ------------------------------------------------------

    async def list_project_domains(self, project: str) -> tuple[ProjectDomain, ...]:
        """The project's Comwit-managed DNS zones; 501 (FeatureDisabledError) when managed
        DNS is not enabled."""
        path = _v1("projects", project, "domains")
        response = await self._call("GET", path, route="list_project_domains")
        return decode(response, ProjectDomainList).domains

    async def create_project_domain(self, project: str, domain: str) -> ProjectDomain:
        path = _v1("projects", project, "domains")
        body = {"domain": domain, "dns_mode": assumed.PROJECT_DOMAIN_DNS_MODE}
        response = await self._call("POST", path, route="create_project_domain", json=body)
        return decode(response, ProjectDomainEnvelope).domain

    # -- hostnames --------------------------------------------------------------------------

    async def list_domains(self, project: str, app_id: str) -> tuple[Domain, ...]:
        path = _v1("projects", project, "apps", app_id, "domains")
        return decode(await self._call("GET", path, route="list_domains"), DomainList).domains

    async def attach_domain(
        self, project: str, app_id: str, domain: str, dns_mode: DnsMode = "external_records"
    ) -> DomainAttachment:
        path = _v1("projects", project, "apps", app_id, "domains")
        body = {"domain": domain, "dns_mode": dns_mode}
        response = await self._call("POST", path, route="attach_domain", json=body)
        return decode(response, DomainAttachment)

    async def finalize_domain(self, project: str, app_id: str, domain: str) -> Domain:
        path = _v1("projects", project, "apps", app_id, "domains", domain, "finalize")
        response = await self._call("POST", path, route="finalize_domain", json={})
        return decode(response, Domain, envelope="domain")

    async def detach_domain(self, project: str, app_id: str, domain: str) -> Domain:
        path = _v1("projects", project, "apps", app_id, "domains", domain)
        return decode(await self._call("DELETE", path, route="detach_domain"), Domain)

    # -- environment ------------------------------------------------------------------------

    async def list_env(self, project: str, app_id: str) -> tuple[EnvVar, ...]:
        path = _v1("projects", project, "apps", app_id, "environment")
        return decode(await self._call("GET", path, route="list_env"), EnvList).variables

    async def put_env(
        self, project: str, app_id: str, key: str, value: str, secret: bool = False
    ) -> EnvPutResult:
        path = _v1("projects", project, "apps", app_id, "environment", key)
        body = {"value": value, "secret": secret}
        return decode(await self._call("PUT", path, route="put_env", json=body), EnvPutResult)

    async def delete_env(self, project: str, app_id: str, key: str) -> None:
        path = _v1("projects", project, "apps", app_id, "environment", key)
        await self._call("DELETE", path, route="delete_env")

    # -- health and spec --------------------------------------------------------------------

    async def healthz(self) -> bool:
        """True when the service is alive; an error otherwise."""
        await self._call("GET", "/healthz", route="healthz", auth=False)
        return True

    async def readyz(self) -> bool:
        """True when the service is ready, False when it answers 503 (not ready)."""
        try:
            await self._call("GET", "/readyz", route="readyz", auth=False)
        except UnexpectedStatusError as error:
            if error.status == 503:
                return False
            raise
        return True

    async def openapi(self) -> dict[str, Any]:
        """The service's own OpenAPI document."""
        return decode_object(await self._call("GET", "/openapi.json", route="openapi", auth=False))

    # -- one call -----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        route: Route,
        auth: bool = True,
        deadline: Deadline | None = None,
        headers: dict[str, str] | None = None,
        **request: Any,
    ) -> httpx.Response:
        all_headers = {**self._headers, **(headers or {})}
        if auth:
            all_headers["Authorization"] = f"Bearer {self._token.reveal()}"
        timeout: httpx.Timeout | None = request.pop("timeout", None)
        retry = retry_of(route)
        built = build_request(
            method,
            self._root,
            path,
            headers=all_headers,
            extensions={
                "timeout": self._timeouts if timeout is None else timeout.as_dict(),
                REPLAYABLE: retry == "repeat",  # the pool may resend it after a dropped reuse
            },
            **request,
        )
        limit = deadline or self._deadlines.for_request()
        if retry == "never":
            return await self._send(built, limit)
        return await with_retries(
            lambda: self._send(built, limit),
            self._retry,
            self._pacing,
            retry_on=None if retry == "repeat" else is_rate_limited,
        )

    async def _send(self, request: httpx.Request, deadline: Deadline) -> httpx.Response:
        self._requests_sent += 1
        return await send(self._exchange, request, deadline=deadline)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """The answer's head, its body still to read. Straight to the transport: httpx's
        client would merge URLs and headers again and parse cookies an API never sets."""
        if self._proxied is not None:
            return await self._proxied.send(request, stream=True)
        assert self._carrier is not None
        response = await self._carrier.handle_async_request(request)
        response.request = request
        return response


_ROLLBACK_ASSUMPTION: Final = (
    f"comwit assumes the rollback route takes {{{assumed.ROLLBACK_BODY_FIELD!r}: build id}} and "
    "answers {'app_id', 'build_id'} (ROLLBACK_BODY_FIELD in docs/api-assumptions.md); no public "
    "client calls this route, so that assumption may be what failed"
)


def _assumption_failed(exc: ApiError, assumption: str) -> ApiError:
    """`exc`, saying which assumption may have failed and how to report it."""
    return ApiError(
        f"{exc}. {assumption}: run `comwit doctor` to compare it with the API's published "
        "spec, and report its output to the comwit maintainers",
        method=exc.method,
        path=exc.path,
    )


def _log_params(query: LogQuery) -> dict[str, str]:
    """The log route's query parameters: the fields `query` sets, by the API's names."""
    given = {
        "tail": str(query.tail),
        "since": query.since,
        "level": query.level,
        "build_id": query.build_id,
        "route": query.route,
        "request_id": query.request_id,
        assumed.LOGS_PAGE_TOKEN_PARAM: query.page_token,
    }
    return {key: value for key, value in given.items() if value}


def _v1(*segments: str) -> str:
    """`/v1/...` with each segment escaped, `/`, `.` and `..` included."""
    return "/v1/" + "/".join(_segment(s) for s in segments)


def _segment(text: str) -> str:
    if not text:
        raise ValueError("an API path segment (project, app id, key or hostname) is empty")
    # A command-line value that is not UTF-8 holds its bytes as surrogates: send those bytes.
    escaped = quote(text, safe="", errors="surrogateescape")
    return escaped.replace(".", "%2E") if escaped in {".", ".."} else escaped
