"""`/auth/*`: sign-up, the OAuth2 token endpoint, refresh, logout, revocation,
introspection, one-time codes and the current subject."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from moneyrail.audit.context import bind_request
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import AppError, Forbidden, problem_response, problem_responses
from moneyrail.identity import introspection
from moneyrail.identity.clients import clients
from moneyrail.identity.deps import Authenticated, _api_key_header, _bearer, authenticate, require
from moneyrail.identity.login import change_password, login
from moneyrail.identity.oauth import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TokenPair,
    UnsupportedGrantType,
)
from moneyrail.identity.repository import repository
from moneyrail.identity.schemas import (
    AcceptedOut,
    ChangePasswordIn,
    IntrospectionOut,
    MeOut,
    MeUpdateIn,
    OtpLoginIn,
    OtpRequestIn,
    RefreshIn,
    SignupIn,
    TokenOut,
    VerifyOut,
)
from moneyrail.identity.subject import AuthSubject
from moneyrail.identity.tokens import config_of
from moneyrail.identity.views import me_out

router = APIRouter(prefix="/auth", tags=["identity"], dependencies=[Depends(bind_request)])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ProfileWrite = Annotated[AuthSubject, Depends(require(scope="profile:write"))]
FormStr = Annotated[str | None, Form()]
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "RFC 6749 error: invalid_request, invalid_grant, invalid_scope, …"},
    401: {"description": "RFC 6749 error: invalid_client"},
}


def _tokens(pair: TokenPair, status_code: int = 200) -> JSONResponse:
    body = TokenOut(
        access_token=pair.access_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        scope=pair.scope,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


def _oauth_error(exc: OAuthError, *, basic: bool = False) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="moneyrail"' if basic else "Bearer"
    return JSONResponse(
        {"error": exc.code, "error_description": exc.detail},
        status_code=exc.status,
        headers=headers,
    )


def _kept(request: Request, exc: AppError) -> JSONResponse:
    """Answer a failure whose writes (counters, revocations, audit) must still commit."""
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers={**NO_STORE, **exc.headers},
    )


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
    "/signup",
    status_code=201,
    summary="Create an organization and its owner; returns tokens",
    response_model=TokenOut,
    responses=problem_responses(409, 422),
)
async def signup(body: SignupIn, request: Request, session: SessionDep) -> JSONResponse:
    pair = await login.signup(
        session,
        config_of(request),
        email=str(body.email),
        password=body.password,
        organization_name=body.organization_name,
        name=body.name,
    )
    return _tokens(pair, status_code=201)


@router.post(
    "/token",
    summary="OAuth 2.0 token endpoint (password, client_credentials, refresh_token)",
    response_model=TokenOut,
    responses=TOKEN_ERRORS,
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
    config = config_of(request)
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        env = _environment(environment)
        credentials = _client_credentials(request, client_id, client_secret)
        grant = grant_type or ("password" if username is not None else None)
        if grant == "client_credentials" or (grant == "password" and _is_client(username)):
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
        return _oauth_error(exc, basic=basic)
    return _tokens(pair)


def _as_invalid_grant(exc: AppError) -> OAuthError:
    from moneyrail.identity.oauth import InvalidGrant

    return InvalidGrant(exc.detail)


def _is_client(username: str | None) -> bool:
    return bool(username) and str(username).startswith("cli_")


@router.post(
    "/signin",
    summary="Password sign-in (form or JSON `username`/`password`); same as the password grant",
    response_model=TokenOut,
    responses=TOKEN_ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/SigninJsonIn"}
                },
                "application/json": {"schema": {"$ref": "#/components/schemas/SigninJsonIn"}},
            }
        }
    },
)
async def signin(request: Request, session: SessionDep) -> JSONResponse:
    data: dict[str, Any] = {}
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            raw = await request.json()
            data = raw if isinstance(raw, dict) else {}
        else:
            data = dict(await request.form())
    except ValueError:
        data = {}
    username, password = data.get("username") or data.get("email"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return _oauth_error(InvalidRequest("username and password are required"))
    config = config_of(request)
    try:
        if _is_client(username):
            pair = await login.client_credentials(
                session, config, client_id=username, client_secret=password
            )
        else:
            pair = await login.password_grant(session, config, email=username, password=password)
    except OAuthError as exc:
        return _oauth_error(exc)
    return _tokens(pair)


@router.post(
    "/refresh",
    summary="Exchange a refresh token for new tokens (the old one stops working)",
    response_model=TokenOut,
    responses=problem_responses(401, 422),
)
async def refresh(body: RefreshIn, request: Request, session: SessionDep) -> JSONResponse:
    try:
        pair = await login.refresh(session, config_of(request), refresh_token=body.refresh_token)
    except AppError as exc:
        return _kept(request, exc)
    return _tokens(pair)


@router.post("/logout", status_code=204, summary="End the session of a refresh token")
async def logout(body: RefreshIn, session: SessionDep) -> Response:
    await login.revoke_refresh_token(session, token=body.refresh_token, reason="logout")
    return Response(status_code=204, headers=NO_STORE)


@router.post("/revoke", summary="RFC 7009 token revocation", responses=TOKEN_ERRORS)
async def revoke(
    request: Request,
    session: SessionDep,
    token: FormStr = None,
    token_type_hint: FormStr = None,
    client_id: FormStr = None,
    client_secret: FormStr = None,
) -> Response:
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
        return _oauth_error(exc, basic=basic)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/introspect",
    summary="RFC 7662 token introspection (client or bearer authenticated)",
    response_model=IntrospectionOut,
    responses=TOKEN_ERRORS,
)
async def introspect(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
    token: FormStr = None,
    token_type_hint: FormStr = None,
    client_id: FormStr = None,
    client_secret: FormStr = None,
) -> JSONResponse:
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
            subject = await authenticate(request, session, bearer, api_key)
            tenant_id = subject.tenant_id
        if not token:
            raise InvalidRequest("token is required")
    except OAuthError as exc:
        return _oauth_error(exc, basic=basic)
    result = await introspection.introspect(
        session, config_of(request), token=token, tenant_id=tenant_id
    )
    return JSONResponse(result, headers=NO_STORE)


@router.post(
    "/request-otp",
    status_code=202,
    summary="E-mail a one-time sign-in code (the answer is the same for unknown addresses)",
    response_model=AcceptedOut,
)
async def request_otp(body: OtpRequestIn, request: Request, session: SessionDep) -> AcceptedOut:
    await login.request_otp(session, config_of(request), email=str(body.email))
    return AcceptedOut(detail="If the address belongs to an account, a code is on its way.")


@router.post(
    "/otp-login",
    summary="Sign in with an e-mailed one-time code",
    response_model=TokenOut,
    responses=problem_responses(401, 422),
)
async def otp_login(body: OtpLoginIn, request: Request, session: SessionDep) -> JSONResponse:
    try:
        pair = await login.otp_login(
            session, config_of(request), email=str(body.email), otp=body.otp
        )
    except AppError as exc:
        return _kept(request, exc)
    return _tokens(pair)


async def _me(session: SessionDep, subject: AuthSubject) -> MeOut:
    if subject.actor_type == "user":
        async with repository.across_tenants(session):
            user = await repository.user(session, subject.actor_id)
        return me_out(subject, user=user)
    if subject.actor_type == "client":
        client = await repository.client(session, subject.actor_id, tenant_id=subject.tenant_id)
        return me_out(subject, client=client)
    return me_out(subject)


@router.get("/me", summary="The signed-in user, client or API key", response_model=MeOut)
async def me(subject: Authenticated, session: SessionDep) -> MeOut:
    return await _me(session, subject)


@router.put(
    "/me",
    summary="Update the signed-in user's or client's profile",
    response_model=MeOut,
    responses=problem_responses(403, 422),
)
async def update_me(body: MeUpdateIn, subject: ProfileWrite, session: SessionDep) -> MeOut:
    from moneyrail.identity.service import identity

    if subject.actor_type == "user":
        await identity.update_profile(session, subject=subject, name=body.name, mobile=body.mobile)
    elif subject.actor_type == "client":
        await clients.update_own_profile(
            session, subject=subject, changes=body.model_dump(exclude_unset=True, mode="json")
        )
    else:
        raise Forbidden("an API key has no profile; sign in as a user or client")
    return await _me(session, subject)


@router.post(
    "/change-password",
    status_code=204,
    summary="Change the password (other sessions are signed out)",
    responses=problem_responses(400, 404, 422),
)
async def change_password_endpoint(
    body: ChangePasswordIn, request: Request, subject: ProfileWrite, session: SessionDep
) -> Response:
    try:
        await change_password(
            session,
            subject=subject,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    except AppError as exc:
        if getattr(exc, "keep_writes", False):
            return _kept(request, exc)
        raise
    return Response(status_code=204)


@router.get(
    "/verify", summary="Check the credential and show what it grants", response_model=VerifyOut
)
async def verify(subject: Authenticated) -> VerifyOut:
    return VerifyOut(
        actor_type=subject.actor_type,
        subject=subject.actor_id,
        tenant_id=None if subject.is_platform_admin else subject.tenant_id,
        role=subject.role,
        scopes=sorted(subject.scopes),
        environment=subject.environment,
    )
