"""OAuth2 client rows as response bodies (never the secret's digest)."""

from __future__ import annotations

from moneyrail.auth.roles import Role
from moneyrail.identity.clients.models import OAuthClient
from moneyrail.identity.clients.schemas import ClientCreatedOut, ClientOut


def client_out(row: OAuthClient) -> ClientOut:
    return ClientOut(
        client_id=row.id,
        name=row.name,
        description=row.description,
        contact_email=row.contact_email,
        role=Role(row.role),
        scopes=list(row.scopes or []),
        status=row.status,
        secret_last4=row.secret_last4,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def client_created_out(row: OAuthClient, secret: str) -> ClientCreatedOut:
    return ClientCreatedOut(**client_out(row).model_dump(), client_secret=secret)
