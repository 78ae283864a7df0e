"""API key rows as response bodies (never the key or its digest, except once at creation)."""

from __future__ import annotations

from moneyrail.auth.roles import Role
from moneyrail.identity.keys.models import ApiKey
from moneyrail.identity.keys.schemas import ApiKeyCreatedOut, ApiKeyOut


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
