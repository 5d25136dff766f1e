"""The emulator as an ASGI app: contract routes, admin routes, problem-detail errors, faults.

Every error, including FastAPI's own validation errors (400, not 422) and unknown routes
(404), is an `application/problem+json` body `{title, status, detail, code?}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from comwit import __version__
from comwit.emulator import admin, routes
from comwit.emulator.faults import FaultMiddleware, Faults
from comwit.emulator.problems import PROBLEM_MEDIA_TYPE, ApiProblem, problem_body
from comwit.emulator.settings import Settings
from comwit.emulator.spec import play_assumptions
from comwit.emulator.store import Store

_CODES = {404: "not_found", 405: "method_not_allowed"}


def create_app(store: Store, settings: Settings | None = None) -> FastAPI:
    """A FastAPI app serving `store`; its `state` holds the store, settings and faults."""
    app = FastAPI(
        title="Comwit API (local emulator)",
        version=__version__,
        description="A local emulator of the Comwit Cloud API, for development and tests.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.store = store
    app.state.settings = settings = settings or Settings()
    app.state.faults = Faults()
    app.include_router(routes.router)
    app.include_router(admin.router)
    _install_error_handlers(app)
    _install_spec(app, settings)
    app.add_middleware(FaultMiddleware, faults=app.state.faults, routes=routes.router.routes)
    return app


def problem(status: int, detail: str, code: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        problem_body(status, detail, code),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _install_spec(app: FastAPI, settings: Settings) -> None:
    def spec() -> dict[str, Any]:
        if app.openapi_schema is None:
            made = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = play_assumptions(made, settings.assumptions)
        return app.openapi_schema

    app.openapi = spec  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _refused(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, _describe(exc), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = "No such route." if exc.status_code == 404 else str(exc.detail)
        return problem(exc.status_code, detail, _CODES.get(exc.status_code))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return problem(500, "The emulator failed; see its log.", "internal_error")


def _describe(exc: RequestValidationError) -> str:
    """`where: what` for each problem; the rejected input itself is never echoed (secrets)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts) + "."
