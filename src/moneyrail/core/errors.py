"""The error model: domain errors with stable codes, rendered as RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from moneyrail.core import limits

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://moneyrail.dev/problems/"

log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every expected failure. Subclasses fix `code`, `status` and `title`."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class NotFound(AppError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(AppError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Unprocessable(AppError):
    code = "unprocessable"
    status = 422
    title = "Unprocessable request"


class BadRequest(AppError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class Unauthorized(AppError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        headers = {"WWW-Authenticate": "Bearer", **kwargs.pop("headers", {})}
        super().__init__(detail, headers=headers, **kwargs)


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class RateLimited(AppError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status = 503
    title = "Service unavailable"


class InvariantViolation(BaseException):
    """A broken internal invariant. Derives from BaseException so `except Exception` cannot hide it."""


def invariant(condition: bool, message: str) -> None:
    """Check an invariant that must hold whatever the input; unlike `assert`, never stripped."""
    if not condition:
        raise InvariantViolation(message)


_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or title or _phrase(status),
        "code": code,
        "request_id": request_id_of(request),
    }
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Flatten pydantic errors into `{field, location, message, type}` items, one per bad field."""
    items: list[dict[str, Any]] = []
    for error in errors:
        if error.get("type") == "json_invalid":
            # The location holds a character offset, not a field: report the body itself.
            reason = (error.get("ctx") or {}).get("error")
            offset = error.get("loc", ("body", None))[-1]
            items.append(
                {
                    "field": "body",
                    "location": "body",
                    "message": f"the body is not valid JSON ({reason}, at character {offset})"
                    if reason
                    else "the body is not valid JSON",
                    "type": "json_invalid",
                }
            )
            continue
        loc = [str(part) for part in error.get("loc", ())]
        field_path = [p for p in loc if p not in ("body", "query", "path", "header", "cookie")]
        items.append(
            {
                "field": ".".join(field_path) or (loc[0] if loc else ""),
                "location": loc[0] if loc else "body",
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return items


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
    return problem_response(
        request,
        status=422,
        code="validation_error",
        title="Request validation failed",
        detail=f"Invalid fields: {fields}" if fields else "The request is not valid",
        extra={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = exc.headers
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = f"No route matches {request.method} {request.url.path}"
    elif exc.status_code == 405:
        from moneyrail.core.routing import allowed_methods

        headers = {
            **(headers or {}),
            "Allow": ", ".join(allowed_methods(request.app, request.url.path)),
        }
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=_phrase(exc.status_code),
        detail=detail,
        headers=headers,
    )


_UNREACHABLE = (OSError, asyncpg.InterfaceError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def _database_unreachable(exc: Exception) -> bool:
    """A lost or refused database connection (as opposed to a failing statement)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    causes = (
        exc,
        getattr(exc, "orig", None),
        getattr(getattr(exc, "orig", None), "__cause__", None),
    )
    return any(isinstance(cause, _UNREACHABLE) for cause in causes)


# SQLSTATEs a client can retry as they are: the transaction lost a race (serialization
# failure, deadlock) and was rolled back whole.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
QUERY_CANCELED = "57014"


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy-wrapped or the driver's own), else None."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str) and len(state) == 5:
            return state
    return None


def is_transient_database_error(exc: BaseException) -> bool:
    """Worth retrying the whole transaction: a lost race or a lost connection. Anything else
    (bad data, a broken constraint, a cancelled statement) fails the same way again."""
    if sqlstate_of(exc) in TRANSIENT_SQLSTATES:
        return True
    return isinstance(exc, Exception) and _database_unreachable(exc)


def _database_message(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    cause = getattr(cause, "__cause__", None) or cause
    text = str(getattr(cause, "args", [""])[0] if getattr(cause, "args", None) else cause)
    return text.splitlines()[0][:200] if text else "a value cannot be stored"


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Database errors that reach the handler: a value the column cannot hold (SQLSTATE
    class 22) is the client's 422; a cancelled statement or a lost race a 503 to retry."""
    state = sqlstate_of(exc)
    if state is not None and state.startswith("22"):
        log.info("http.invalid_value", sqlstate=state, path=request.url.path)
        return problem_response(
            request,
            status=422,
            code="invalid_value",
            title="Value cannot be stored",
            detail=f"a value in the request cannot be stored: {_database_message(exc)}",
            extra={"sqlstate": state},
        )
    if state == QUERY_CANCELED:
        log.warning("http.statement_timeout", path=request.url.path)
        return problem_response(
            request,
            status=503,
            code="statement_timeout",
            title="Service unavailable",
            detail="the database took too long to answer; nothing was committed, retry later",
            headers={"Retry-After": str(limits.statement_timeout_retry_after_seconds)},
        )
    if state in TRANSIENT_SQLSTATES:
        log.warning("http.transaction_conflict", sqlstate=state, path=request.url.path)
        return problem_response(
            request,
            status=503,
            code="transaction_conflict",
            title="Service unavailable",
            detail="a concurrent request touched the same data; nothing was committed, "
            "retry the request",
            headers={"Retry-After": "1"},
        )
    return await _unhandled(request, exc)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Sent by Starlette's outermost middleware, past the one that adds security headers.
    fallback_headers: dict[str, str] = getattr(request.app.state, "fallback_headers", None) or {}
    if _database_unreachable(exc):
        log.error("http.database_unavailable", error_type=type(exc).__name__, path=request.url.path)
        return problem_response(
            request,
            status=503,
            code="database_unavailable",
            title="Service unavailable",
            detail="the database could not be reached; nothing was committed, retry the request",
            headers={**fallback_headers, "Retry-After": "1"},
        )
    log.error(
        "http.unhandled_error",
        error_type=type(exc).__name__,
        path=request.url.path,
        method=request.method,
        exc_info=exc,
    )
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="An unexpected error occurred; quote the request id when reporting it",
        headers=fallback_headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database errors are answered inside the middleware stack (with the request id, the
    # security headers and the metrics), not re-raised to the server as 500s are.
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(Exception, _unhandled)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem+json failures of an endpoint."""
    return {
        status: {
            "description": _phrase(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
