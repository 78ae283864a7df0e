"""The OAuth 2.0 endpoints: token (RFC 6749), revocation (RFC 7009) and introspection
(RFC 7662), with client authentication by HTTP Basic or form fields."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from moneyrail.auth.deps import api_key_scheme, authenticate, bearer_scheme
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import AppError
from moneyrail.identity.clients.service import clients
from moneyrail.identity.oauth import service as introspection
from moneyrail.identity.sessions.service import login
from moneyrail.identity.tokens.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    UnsupportedGrantType,
)
from moneyrail.identity.tokens.responses import (
    NO_STORE,
    TOKEN_ERRORS,
    bind_caller,
    is_client_id,
    oauth_error_response,
    tokens_response,
)
from moneyrail.identity.tokens.schemas import IntrospectionOut, TokenOut
from moneyrail.identity.tokens.service import config_of

router = APIRouter(prefix="/auth", tags=["identity"], dependencies=[Depends(bind_caller)])

FormStr = Annotated[str | None, Form()]


def form_example(example: dict[str, str]) -> dict[str, Any]:
    """An example for a form body (merged into the generated request body)."""
    return {
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"examples": {"default": {"value": example}}}
            }
        }
    }


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: `Basic base64(urlencode(id):urlencode(secret))`.

    Raises:
        InvalidClient: a malformed Basic header.
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed HTTP Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed HTTP Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str, str] | None:
    basic = _basic_credentials(request)
    if basic is not None and (client_id or client_secret):
        raise InvalidRequest("use one client authentication method, not two")
    if basic is not None:
        return basic
    if client_id and client_secret:
        return client_id, client_secret
    if client_id or client_secret:
        raise InvalidClient("client authentication needs both client_id and client_secret")
    return None


def _environment(value: str | None) -> str:
    if value in (None, "", "test"):
        return "test"
    if value == "live":
        return "live"
    raise InvalidRequest("environment is 'test' or 'live'")


@router.post(
    "/token",
    summary="OAuth 2.0 token endpoint (password, client_credentials, refresh_token)",
    response_model=TokenOut,
    responses=TOKEN_ERRORS,
    openapi_extra=form_example(
        {
            "grant_type": "password",
            "username": "founder@example.com",
            "password": "correct horse battery staple",
            "scope": "ledger:read payments:read",
        }
    ),
)
async def token(
    request: Request,
    session: SessionDep,
    grant_type: FormStr = None,
    username: FormStr = None,
    password: FormStr = None,
    refresh_token: FormStr = None,
    scope: FormStr = None,
    client_id: FormStr = None,
    client_secret: FormStr = None,
    environment: FormStr = None,
) -> JSONResponse:
    """The OAuth 2.0 token endpoint (RFC 6749) for the password, client_credentials and
    refresh_token grants; clients authenticate with HTTP Basic or form fields. Failures are
    RFC 6749 errors (400 invalid_grant, invalid_request, …; 401 invalid_client)."""
    config = config_of(request)
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        env = _environment(environment)
        credentials = _client_credentials(request, client_id, client_secret)
        grant = grant_type or ("password" if username is not None else None)
        if grant == "client_credentials" or (grant == "password" and is_client_id(username)):
            if grant == "password":  # the seed's clients sign in with client_id/secret
                credentials = (username or "", password or "")
            if credentials is None:
                raise InvalidClient("client authentication is required")
            pair = await login.client_credentials(
                session,
                config,
                client_id=credentials[0],
                client_secret=credentials[1],
                scope=scope,
                environment=env,
            )
        elif grant == "password":
            if not username or password is None:
                raise InvalidRequest("username and password are required")
            pair = await login.password_grant(
                session, config, email=username, password=password, scope=scope, environment=env
            )
        elif grant == "refresh_token":
            if not refresh_token:
                raise InvalidRequest("refresh_token is required")
            try:
                pair = await login.refresh(session, config, refresh_token=refresh_token)
            except AppError as exc:
                raise _as_invalid_grant(exc) from exc
        elif grant is None:
            raise InvalidRequest("grant_type is required")
        else:
            raise UnsupportedGrantType(f"grant_type {grant!r} is not supported")
    except OAuthError as exc:
        return oauth_error_response(exc, basic=basic)
    return tokens_response(pair)


def _as_invalid_grant(exc: AppError) -> OAuthError:
    return InvalidGrant(exc.detail)


@router.post(
    "/revoke",
    summary="RFC 7009 token revocation",
    response_class=Response,
    # RFC 7009 §2.2: success is a 200 with an empty body, whether or not the token existed.
    responses={
        200: {"description": "Revoked (or unknown): an empty body", "content": {}},
        **TOKEN_ERRORS,
    },
    openapi_extra=form_example(
        {"token": "mrrt_4f9c2b7e1d8a4c3b9e6f0a1b2c3d4e5f", "token_type_hint": "refresh_token"}
    ),
)
async def revoke(
    request: Request,
    session: SessionDep,
    token: FormStr = None,
    token_type_hint: FormStr = None,
    client_id: FormStr = None,
    client_secret: FormStr = None,
) -> Response:
    """RFC 7009 token revocation: a refresh token ends its session, an access token the
    session it came from, an API key is revoked. Unknown tokens are ignored (200); bad
    client credentials fail with 401."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        if not token:
            raise InvalidRequest("token is required")
        tenant_id = None
        credentials = _client_credentials(request, client_id, client_secret)
        if credentials is not None:
            client = await clients.authenticate(
                session, client_id=credentials[0], client_secret=credentials[1]
            )
            if client is None:
                raise InvalidClient("client authentication failed")
            tenant_id = client.tenant_id
        await introspection.revoke(session, config_of(request), token=token, tenant_id=tenant_id)
    except OAuthError as exc:
        return oauth_error_response(exc, basic=basic)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/introspect",
    summary="RFC 7662 token introspection (client or bearer authenticated)",
    response_model=IntrospectionOut,
    responses=TOKEN_ERRORS,
    openapi_extra=form_example(
        {"token": "mrrt_4f9c2b7e1d8a4c3b9e6f0a1b2c3d4e5f", "token_type_hint": "refresh_token"}
    ),
)
async def introspect(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    token: FormStr = None,
    token_type_hint: FormStr = None,
    client_id: FormStr = None,
    client_secret: FormStr = None,
) -> JSONResponse:
    """RFC 7662 token introspection for the authenticated client or bearer: what a token is
    when it is live and belongs to the caller's tenant, else `{"active": false}`."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        credentials = _client_credentials(request, client_id, client_secret)
        if credentials is not None:
            client = await clients.authenticate(
                session, client_id=credentials[0], client_secret=credentials[1]
            )
            if client is None:
                raise InvalidClient("client authentication failed")
            tenant_id = client.tenant_id
        else:
            subject = await authenticate(request, session)
            tenant_id = subject.tenant_id
        if not token:
            raise InvalidRequest("token is required")
    except OAuthError as exc:
        return oauth_error_response(exc, basic=basic)
    result = await introspection.introspect(
        session, config_of(request), token=token, tenant_id=tenant_id
    )
    return JSONResponse(result, headers=NO_STORE)
