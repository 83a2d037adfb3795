"""API errors: one exception type, and the handlers that turn every failure into JSON.

Every error leaves the server as ``{"error": {"code", "message"}}`` with its status
(docs/server-api.md). Routes raise ``ApiError``; FastAPI's validation errors, unknown
routes and anything unexpected are converted by the handlers installed here, so a
client never sees an HTML page or a bare 500 traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from trackwell_server.responses import JSONResponse

log = logging.getLogger("trackwell_server")

_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "not_found",
    409: "conflict",
    413: "too_large",
    415: "invalid",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer; a ``sequence_gap`` also carries ``last_seq``."""

    model_config = ConfigDict(extra="allow")

    error: ErrorDetail


#: Documented on every route, so /openapi.json describes the errors clients really get
#: (FastAPI would otherwise document its own 422 body, which this server never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code}
    for status, code in (
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (409, "conflict"),
        (413, "too_large"),
        (422, "invalid"),
        (429, "rate_limited"),
    )
}


class ApiError(Exception):
    """An error answer: status, machine code, a sentence for a human, and extra body fields."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def error_response(
    status: int, code: str, message: str, extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.extra, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, "invalid", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = _CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code
        if exc.status_code == 404 and message == "Not Found":
            message = "no such API route"
        return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(sa.exc.IntegrityError)
    async def _integrity(_request: Request, exc: sa.exc.IntegrityError) -> Response:
        # two requests (maybe on two server processes) created the same thing at once
        return error_response(409, "conflict", "a concurrent request changed the same object; retry")

    @app.exception_handler(sa.exc.DataError)
    async def _unstorable(_request: Request, exc: sa.exc.DataError) -> Response:
        # PostgreSQL refuses some values SQLite takes (a NUL character in text, above all)
        return error_response(422, "invalid", f"a value the database cannot store: {exc.orig}")

    @app.exception_handler(sa.exc.OperationalError)
    async def _database_busy(request: Request, exc: sa.exc.OperationalError) -> Response:
        log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(503, "unavailable", "the database is busy or unreachable; retry",
                              headers={"Retry-After": "1"})  # fmt: skip

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal", f"internal server error ({type(exc).__name__}); see the server log"
        )
