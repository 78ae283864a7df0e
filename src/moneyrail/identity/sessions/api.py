"""`/auth/*`: sign-up, sign-in, refresh, logout, one-time codes and the current subject
(the OAuth 2.0 token, revocation and introspection endpoints are in api_oauth.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from moneyrail.auth.deps import Authenticated
from moneyrail.auth.subject import AuthSubject
from moneyrail.auth.tenancy import tenant_scope
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import AppError, Forbidden, problem_responses
from moneyrail.core.openapi import component_ref
from moneyrail.identity.clients.repository import repository as client_repository
from moneyrail.identity.clients.service import clients
from moneyrail.identity.sessions.auth import ProfileWrite
from moneyrail.identity.sessions.otp import otp
from moneyrail.identity.sessions.schemas import (
    AcceptedOut,
    ChangePasswordIn,
    MeOut,
    MeUpdateIn,
    OtpLoginIn,
    OtpRequestIn,
    RefreshIn,
    SigninJsonIn,
    SignupIn,
    VerifyOut,
)
from moneyrail.identity.sessions.service import change_password as password_change
from moneyrail.identity.sessions.service import login
from moneyrail.identity.sessions.views import me_out
from moneyrail.identity.tokens.errors import InvalidRequest, OAuthError
from moneyrail.identity.tokens.responses import (
    NO_STORE,
    TOKEN_ERRORS,
    bind_caller,
    is_client_id,
    kept_response,
    oauth_error_response,
    tokens_response,
)
from moneyrail.identity.tokens.schemas import TokenOut
from moneyrail.identity.tokens.service import config_of
from moneyrail.identity.users.repository import repository as user_repository
from moneyrail.identity.users.service import users

router = APIRouter(prefix="/auth", tags=["identity"], dependencies=[Depends(bind_caller)])


@router.post(
    "/signup",
    status_code=201,
    summary="Create an organization and its owner; returns tokens",
    response_model=TokenOut,
    responses=problem_responses(409, 422),
)
async def signup(body: SignupIn, request: Request, session: SessionDep) -> JSONResponse:
    """Create an organization (tenant) with the caller as its owner and sign the owner in.
    Fails with 409 when the e-mail is registered already and 422 for a weak password."""
    pair = await login.signup(
        session,
        config_of(request),
        email=str(body.email),
        password=body.password,
        organization_name=body.organization_name,
        name=body.name,
    )
    return tokens_response(pair, status_code=201)


@router.post(
    "/signin",
    summary="Password sign-in (form or JSON `username`/`password`); same as the password grant",
    response_model=TokenOut,
    responses=TOKEN_ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": component_ref(SigninJsonIn)},
                "application/json": {"schema": component_ref(SigninJsonIn)},
            }
        }
    },
)
async def signin(request: Request, session: SessionDep) -> JSONResponse:
    """Sign in with `username` (e-mail, or an OAuth2 client id) and `password`, as form or
    JSON. An unknown address, a wrong password and a locked account get the same 400
    `invalid_grant` answer."""
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
    wrong_types = [
        {"type": "string_type", "loc": ("body", name), "msg": "Input should be a valid string"}
        for name, value in (("username", username), ("password", password))
        if value is not None and not isinstance(value, str)
    ]
    if wrong_types:
        # A JSON body of the wrong shape is a validation error (problem+json) like any other.
        raise RequestValidationError(wrong_types)
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return oauth_error_response(InvalidRequest("username and password are required"))
    config = config_of(request)
    try:
        if is_client_id(username):
            pair = await login.client_credentials(
                session, config, client_id=username, client_secret=password
            )
        else:
            pair = await login.password_grant(session, config, email=username, password=password)
    except OAuthError as exc:
        return oauth_error_response(exc)
    return tokens_response(pair)


@router.post(
    "/refresh",
    summary="Exchange a refresh token for new tokens (the old one stops working)",
    response_model=TokenOut,
    responses=problem_responses(401, 422),
)
async def refresh(body: RefreshIn, request: Request, session: SessionDep) -> JSONResponse:
    """Rotate a refresh token: new tokens, and the old refresh token stops working. Presenting
    a rotated token again ends its whole session (401)."""
    try:
        pair = await login.refresh(session, config_of(request), refresh_token=body.refresh_token)
    except AppError as exc:
        return kept_response(request, exc)
    return tokens_response(pair)


@router.post("/logout", status_code=204, summary="End the session of a refresh token")
async def logout(body: RefreshIn, session: SessionDep) -> Response:
    """End the session the refresh token belongs to; access tokens of that session stop
    working on the next request. Unknown tokens are ignored."""
    await login.revoke_refresh_token(session, token=body.refresh_token, reason="logout")
    return Response(status_code=204, headers=NO_STORE)


@router.post(
    "/request-otp",
    status_code=202,
    summary="E-mail a one-time sign-in code (the answer is the same for unknown addresses)",
    response_model=AcceptedOut,
)
async def request_otp(body: OtpRequestIn, request: Request, session: SessionDep) -> AcceptedOut:
    """E-mail a one-time sign-in code to an active account. The answer is the same whether
    or not the address belongs to an account, and a new code is sent at most once per
    resend interval."""
    await otp.request_otp(session, config_of(request), email=str(body.email))
    return AcceptedOut(detail="If the address belongs to an account, a code is on its way.")


@router.post(
    "/otp-login",
    summary="Sign in with an e-mailed one-time code",
    response_model=TokenOut,
    responses=problem_responses(401, 422),
)
async def otp_login(body: OtpLoginIn, request: Request, session: SessionDep) -> JSONResponse:
    """Sign in with an e-mailed one-time code: single use, short-lived, a few tries per code.
    A wrong, used or expired code fails with 401."""
    try:
        pair = await otp.otp_login(session, config_of(request), email=str(body.email), otp=body.otp)
    except AppError as exc:
        return kept_response(request, exc)
    return tokens_response(pair)


async def _me(session: SessionDep, subject: AuthSubject) -> MeOut:
    if subject.actor_type == "user":
        async with user_repository.across_tenants(session):
            user = await user_repository.user(session, subject.actor_id)
        return me_out(subject, user=user)
    if subject.actor_type == "client":
        client = await client_repository.client(
            session, subject.actor_id, tenant_id=subject.tenant_id
        )
        return me_out(subject, client=client)
    return me_out(subject)


@router.get("/me", summary="The signed-in user, client or API key", response_model=MeOut)
async def me(subject: Authenticated, session: SessionDep) -> MeOut:
    """The caller: the signed-in user, OAuth2 client or API key, with its tenant, role and
    scopes."""
    return await _me(session, subject)


@router.put(
    "/me",
    summary="Update the signed-in user's or client's profile",
    response_model=MeOut,
    responses=problem_responses(403, 422),
)
async def update_me(body: MeUpdateIn, subject: ProfileWrite, session: SessionDep) -> MeOut:
    """Update the signed-in user's name and mobile, or a client's descriptive fields. An API
    key has no profile (403)."""
    if subject.actor_type == "user":
        await users.update_profile(session, subject=subject, name=body.name, mobile=body.mobile)
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
async def change_password(
    body: ChangePasswordIn, request: Request, subject: ProfileWrite, session: SessionDep
) -> Response:
    """Change the signed-in user's password. Every session of the user ends and existing
    access tokens stop working; a wrong current password fails with 400, a weak new one
    with 422."""
    try:
        await password_change(
            session,
            subject=subject,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    except AppError as exc:
        if getattr(exc, "keep_writes", False):
            return kept_response(request, exc)
        raise
    return Response(status_code=204)


@router.get(
    "/verify", summary="Check the credential and show what it grants", response_model=VerifyOut
)
async def verify(subject: Authenticated) -> VerifyOut:
    """Check the credential and show what it grants: actor, tenant, role, scopes and
    environment. An invalid credential fails with 401."""
    return VerifyOut(
        actor_type=subject.actor_type,
        subject=subject.actor_id,
        tenant_id=tenant_scope(subject),
        role=subject.role,
        scopes=sorted(subject.scopes),
        environment=subject.environment,
    )
