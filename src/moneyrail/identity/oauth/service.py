"""RFC 7662 token introspection and RFC 7009 revocation over our three kinds of token."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.errors import Unauthorized
from moneyrail.identity.keys import material
from moneyrail.identity.keys.service import api_keys
from moneyrail.identity.sessions.service import REFRESH_TOKEN_PREFIX, login
from moneyrail.identity.tokens.config import AuthConfig
from moneyrail.identity.tokens.service import decode_access_token

INACTIVE: dict[str, Any] = {"active": False}


async def introspect(
    session: AsyncSession, config: AuthConfig, *, token: str, tenant_id: str
) -> dict[str, Any]:
    """What a token is, if it is live and belongs to `tenant_id`; `{"active": false}` otherwise."""
    if material.looks_like_key(token):
        try:
            subject = await api_keys.authenticate(session, key=token)
        except Unauthorized:
            return INACTIVE
        if subject.tenant_id != tenant_id:
            return INACTIVE
        return {
            "active": True,
            "token_type": "api_key",
            "sub": subject.actor_id,
            "tenant": subject.tenant_id,
            "scope": " ".join(sorted(subject.scopes)),
            "role": subject.role.value,
            "client_id": subject.client_id,
        }
    if token.startswith(REFRESH_TOKEN_PREFIX):
        from datetime import UTC, datetime

        record = await login.refresh_token_info(session, token=token)
        now = datetime.now(UTC)
        if (
            record is None
            or record.tenant_id != tenant_id
            or record.revoked_at is not None
            or record.rotated_at is not None
            or record.expires_at <= now
        ):
            return INACTIVE
        return {
            "active": True,
            "token_type": "refresh_token",
            "sub": record.user_id,
            "tenant": record.tenant_id,
            "scope": " ".join(record.scopes or []),
            "exp": int(record.expires_at.timestamp()),
            "iat": int(record.created_at.timestamp()),
        }
    try:
        claims = decode_access_token(config, token)
    except Unauthorized:
        return INACTIVE
    if claims.get("tenant") != tenant_id:
        return INACTIVE
    return {
        "active": True,
        "token_type": "access_token",
        **{
            k: claims[k]
            for k in (
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "nbf",
                "iss",
                "aud",
                "jti",
                "tenant",
                "role",
            )
            if k in claims
        },
    }


async def revoke(
    session: AsyncSession, config: AuthConfig, *, token: str, tenant_id: str | None
) -> None:
    """Revoke what can be revoked; unknown or invalid tokens are ignored (RFC 7009 §2.2).

    A refresh token ends its whole session; an access token ends the session it came from
    (it stays valid until it expires, minutes later); an API key is revoked.
    """
    if token.startswith(REFRESH_TOKEN_PREFIX):
        await login.revoke_refresh_token(
            session, token=token, tenant_id=tenant_id, reason="revoked"
        )
        return
    if material.looks_like_key(token):
        try:
            subject = await api_keys.authenticate(session, key=token)
        except Unauthorized:
            return
        if tenant_id is None or subject.tenant_id == tenant_id:
            from moneyrail.core.db import set_tenant

            await set_tenant(session, subject.tenant_id)
            await api_keys.revoke(session, subject=subject, key_id=subject.actor_id)
        return
    try:
        claims = decode_access_token(config, token)
    except Unauthorized:
        return
    tenant = claims.get("tenant")
    sid = claims.get("sid")
    if isinstance(tenant, str) and isinstance(sid, str) and tenant_id in (None, tenant):
        await login.revoke_session(session, tenant_id=tenant, family_id=sid, reason="revoked")
