"""Turn identity rows into response bodies (never a secret or a digest)."""

from __future__ import annotations

from moneyrail.auth.roles import Role
from moneyrail.auth.subject import AuthSubject
from moneyrail.auth.tenancy import tenant_scope
from moneyrail.identity.models import ApiKey, OAuthClient, User
from moneyrail.identity.schemas import ApiKeyCreatedOut, ApiKeyOut, MeOut


def api_key_out(record: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=record.id,
        name=record.name,
        prefix=f"mr_{record.environment}_",
        last4=record.last4,
        environment="live" if record.environment == "live" else "test",
        role=Role(record.role),
        scopes=list(record.scopes or []),
        client_id=record.client_id,
        created_by=record.created_by,
        expires_at=record.expires_at,
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
        created_at=record.created_at,
    )


def api_key_created_out(record: ApiKey, key: str) -> ApiKeyCreatedOut:
    return ApiKeyCreatedOut(**api_key_out(record).model_dump(), key=key)


def me_out(
    subject: AuthSubject, *, user: User | None = None, client: OAuthClient | None = None
) -> MeOut:
    out = MeOut(
        actor_type=subject.actor_type,
        id=subject.actor_id,
        tenant_id=tenant_scope(subject),
        role=subject.role,
        scopes=sorted(subject.scopes),
        environment=subject.environment,
        is_platform_admin=subject.is_platform_admin,
    )
    if user is not None:
        out = out.model_copy(
            update={
                "email": user.email,
                "name": user.name,
                "mobile": user.mobile,
                "status": user.status,
                "created_at": user.created_at,
                "last_login_at": user.last_login_at,
            }
        )
    if client is not None:
        out = out.model_copy(
            update={
                "name": client.name,
                "description": client.description,
                "contact_email": client.contact_email,
                "status": client.status,
                "created_at": client.created_at,
            }
        )
    return out
