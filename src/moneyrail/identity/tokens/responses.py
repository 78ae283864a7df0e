"""How the token endpoints answer: token responses and RFC 6749 errors with
`Cache-Control: no-store`, and problem+json for failures whose writes must commit."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from moneyrail.core.errors import AppError, problem_response
from moneyrail.core.openapi import component_ref
from moneyrail.core.request_context import bind_request
from moneyrail.identity.tokens.errors import OAuthError, TokenPair
from moneyrail.identity.tokens.schemas import OAuthErrorOut, TokenOut

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "RFC 6749 error: invalid_request, invalid_grant, invalid_scope, …",
        "content": {"application/json": {"schema": component_ref(OAuthErrorOut)}},
    },
    401: {
        "description": "RFC 6749 error: invalid_client",
        "content": {"application/json": {"schema": component_ref(OAuthErrorOut)}},
    },
}


def tokens_response(pair: TokenPair, status_code: int = 200) -> JSONResponse:
    body = TokenOut(
        access_token=pair.access_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        scope=pair.scope,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


def oauth_error_response(exc: OAuthError, *, basic: bool = False) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="moneyrail"' if basic else "Bearer"
    return JSONResponse(
        {"error": exc.code, "error_description": exc.detail},
        status_code=exc.status,
        headers=headers,
    )


def kept_response(request: Request, exc: AppError) -> JSONResponse:
    """Answer a failure whose writes (counters, revocations, audit) must still commit."""
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers={**NO_STORE, **exc.headers},
    )


def is_client_id(username: str | None) -> bool:
    return bool(username) and str(username).startswith("cli_")


async def bind_caller(request: Request) -> None:
    """Bind where the request came from for the services (audit rows, failed sign-ins per
    address). Async on purpose: a plain function dependency runs in a worker thread, whose
    copy of the context would be dropped."""
    bind_request(request)
