"""The one place exceptions become HTTP responses: ``{"error": {code, message, details}}``
with the status the exception carries. The errors only the HTTP edge raises live here::

    RenderhouseError (renderhouse.errors)
    ├── Unauthorized          unauthorized / token_expired   401
    ├── Forbidden             forbidden                      403
    ├── BadRequest            bad_request, malformed_json…   400
    ├── PayloadTooLarge       payload_too_large              413
    ├── UnsupportedMedia      unsupported_media_type         415
    ├── RangeNotSatisfiable   range_not_satisfiable          416
    ├── IdempotencyConflict   idempotency_conflict           409
    ├── RateLimited           rate_limited                   429 (+ Retry-After)
    └── Unavailable           rate_limiter_unavailable…      503 (+ Retry-After)
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from renderhouse.errors import QueueFull, RenderhouseError, StoreError
from renderhouse.store.database import DATABASE_FAULTS

log = logging.getLogger(__name__)

QUEUE_FULL_RETRY_AFTER = 5
STORE_RETRY_AFTER = 5
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class Unauthorized(RenderhouseError):
    code = "unauthorized"
    http_status = 401


class Forbidden(RenderhouseError):
    code = "forbidden"
    http_status = 403


class BadRequest(RenderhouseError):
    code = "bad_request"
    http_status = 400


class PayloadTooLarge(RenderhouseError):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMedia(RenderhouseError):
    code = "unsupported_media_type"
    http_status = 415


class RangeNotSatisfiable(RenderhouseError):
    code = "range_not_satisfiable"
    http_status = 416


class IdempotencyConflict(RenderhouseError):
    code = "idempotency_conflict"
    http_status = 409


class RateLimited(RenderhouseError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any]) -> None:
        super().__init__(message, details={**details, "retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(RenderhouseError):
    code = "service_unavailable"
    http_status = 503


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _retry_after(exc: RenderhouseError) -> int | None:
    if isinstance(exc, RateLimited):
        return exc.retry_after
    if isinstance(exc, QueueFull | Unavailable):
        return QUEUE_FULL_RETRY_AFTER
    if isinstance(exc, StoreError):
        return STORE_RETRY_AFTER
    return None


def render(exc: RenderhouseError) -> JSONResponse:
    headers = {}
    retry = _retry_after(exc)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    if status >= 500 and not isinstance(exc, QueueFull | Unavailable):
        log.error("request failed: %s (%s)", exc.message, exc.code)
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status, headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts) or "request"


def _validation(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid"), "in": _where(e)}
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return JSONResponse(
            error_body("malformed_json", "the request body is not valid JSON", {"errors": errors}),
            400,
        )
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    message = f"{first['field']}: {first['message']}"
    return JSONResponse(error_body("invalid_request", message, {"errors": errors}), 422)


def _where(e: Any) -> str:
    loc = e.get("loc", ())
    return str(loc[0]) if loc else "request"


def _http(req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = "no such route; see /docs for the API"
    if exc.status_code == 405:
        headers["Allow"] = _allowed(req)
    return JSONResponse(error_body(code, message), exc.status_code, headers)


def _allowed(req: Request) -> str:
    """Every method some route takes at this path (Starlette's 405 names only the first
    matching route's, and each route holds one method)."""
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**req.scope, "method": method})[0] == Match.FULL
            for route in req.app.router.routes
        )
    ]
    return ", ".join(allowed)


def _domain(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RenderhouseError)
    return render(exc)


def _unstorable(_req: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (a route without an upper bound on an integer, a
    NUL byte in text): the caller's input is wrong, so 422, not a 500."""
    log.warning("a value the database cannot hold reached it: %s", exc)
    if "NUL" in str(exc):
        message = "the request contains a NUL byte (%00), which no text value may hold"
        return JSONResponse(error_body("invalid_text", message), 422)
    message = "a number in the request is out of range"
    return JSONResponse(error_body("value_out_of_range", message), 422)


def _database_fault(_req: Request, exc: Exception) -> JSONResponse:
    """A database fault outside ``Store.begin``/``read`` (the event loop's own connections):
    503 like any other, never a 500."""
    return render(StoreError(f"the database is unavailable: {type(exc).__name__}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RenderhouseError, _domain)
    for fault in (*DATABASE_FAULTS, psycopg.OperationalError, psycopg.InterfaceError):
        app.add_exception_handler(fault, _database_fault)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(OverflowError, _unstorable)
    app.add_exception_handler(DataError, _unstorable)
