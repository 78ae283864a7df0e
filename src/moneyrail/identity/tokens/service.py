"""JWT access tokens (RFC 9068 profile): issue and verify, and the bearer resolver.

Verification pins the configured algorithm, requires the `at+jwt` type and a known key id,
and checks signature, issuer, audience, expiry and every claim the subject is built from.
The token carries tenant, role and scopes; the sessions resolver adds the one statement
that binds the tenant and checks the user's credential version and session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import jwt
from fastapi import Request

from moneyrail.audit.chain import PLATFORM_TENANT_ID
from moneyrail.auth.roles import ROLE_SCOPES, Role
from moneyrail.auth.subject import ActorType, AuthSubject
from moneyrail.core import limits
from moneyrail.core.errors import Unauthorized
from moneyrail.core.ratelimit import credential_digest, register_credential_identifier
from moneyrail.core.settings import Settings
from moneyrail.identity.tokens.config import JWT_TYPE, AuthConfig, auth_config

REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti", "role", "scope", "act")
PLATFORM_SCOPES = frozenset({"monitoring:read", "admin:read", "audit:read", "profile:read"})


class InvalidToken(Unauthorized):
    code = "invalid_token"
    title = "Invalid access token"


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_in: int
    scope: str


def issue_access_token(
    config: AuthConfig,
    *,
    subject_id: str,
    actor_type: ActorType,
    tenant_id: str | None,
    role: Role,
    scopes: Iterable[str],
    environment: str = "test",
    session_id: str | None = None,
    client_id: str | None = None,
    platform_admin: bool = False,
    session_version: int | None = None,
    now: datetime | None = None,
) -> IssuedAccessToken:
    issued_at = now or datetime.now(UTC)
    expires = issued_at + config.access_ttl
    scope = " ".join(sorted(set(scopes)))
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "aud": config.audience,
        "sub": subject_id,
        "tenant": tenant_id,
        "role": role.value,
        "scope": scope,
        "act": actor_type,
        "env": environment,
        "iat": int(issued_at.timestamp()),
        "nbf": int(issued_at.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
    }
    if session_id:
        claims["sid"] = session_id
    if client_id:
        claims["client_id"] = client_id
    if platform_admin:
        claims["platform_admin"] = True
    if session_version is not None:
        claims["ver"] = session_version
    token = jwt.encode(
        claims,
        config.signing_key,
        algorithm=config.algorithm,
        headers={"kid": config.signing_kid, "typ": JWT_TYPE},
    )
    return IssuedAccessToken(
        token=token, jti=jti, expires_in=int(config.access_ttl.total_seconds()), scope=scope
    )


def decode_access_token(config: AuthConfig, token: str) -> dict[str, Any]:
    """Verify a JWT access token and return its claims.

    Raises:
        InvalidToken: anything wrong with it (type, key id, algorithm, signature, claims).
    """
    if len(token) > limits.jwt_length_max:
        raise InvalidToken("the access token is not valid")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != JWT_TYPE or header.get("alg") != config.algorithm:
            raise InvalidToken("the access token is not valid")
        key = config.verification_keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("the access token was signed with an unknown key")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[config.algorithm],
            audience=config.audience,
            issuer=config.issuer,
            leeway=limits.jwt_leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the access token is not valid") from exc
    return claims


def subject_from_claims(claims: dict[str, Any]) -> AuthSubject:
    """Build the subject; the scopes are capped by the role's, whatever the token says.

    Raises:
        InvalidToken: claims of the wrong shape.
    """
    try:
        role = Role(claims["role"])
        actor_type = claims["act"]
        if actor_type not in ("user", "client"):
            raise ValueError(actor_type)
        platform = claims.get("platform_admin") is True
        tenant = claims.get("tenant")
        if not isinstance(claims["sub"], str) or not isinstance(claims["scope"], str):
            raise ValueError("sub/scope")
        if tenant is None and not platform:
            raise ValueError("tenant")
    except (KeyError, ValueError) as exc:
        raise InvalidToken("the access token is not valid") from exc
    requested = frozenset(claims["scope"].split())
    allowed = PLATFORM_SCOPES if platform else ROLE_SCOPES[role]
    environment: Literal["test", "live"] = "live" if claims.get("env") == "live" else "test"
    extra: dict[str, str] = {}
    if isinstance(claims.get("sid"), str):
        extra["session_id"] = claims["sid"]
    version = claims.get("ver", 1)
    if isinstance(version, int) and not isinstance(version, bool):
        extra["session_version"] = str(version)
    else:
        raise InvalidToken("the access token is not valid")
    return AuthSubject(
        tenant_id=str(tenant) if tenant else PLATFORM_TENANT_ID,
        actor_type=actor_type,
        actor_id=claims["sub"],
        role=role,
        scopes=requested & allowed,
        environment=environment,
        is_platform_admin=platform,
        credential_id=str(claims["jti"]),
        client_id=claims.get("client_id") if isinstance(claims.get("client_id"), str) else None,
        extra=extra,
    )


def config_of(request: Request) -> AuthConfig:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return auth_config(settings)


def subject_of_jwt(request: Request, token: str) -> AuthSubject:
    """The subject a verified access token names (no database; see sessions' resolver)."""
    return subject_from_claims(decode_access_token(config_of(request), token))


def identify_credential(credential: str, app: Any) -> str | None:
    """Who a credential belongs to, for rate limits: no database, JWTs fully verified."""
    from moneyrail.identity.keys import material

    if material.looks_like_key(credential):
        return "key:" + credential_digest(credential)
    if app is None:
        return None
    try:
        claims = decode_access_token(auth_config(app.state.settings), credential)
    except Unauthorized:
        return None
    return f"{claims['act']}:{claims['sub']}"


register_credential_identifier(identify_credential)
