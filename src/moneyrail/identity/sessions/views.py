"""The current subject as a response body."""

from __future__ import annotations

from moneyrail.auth.subject import AuthSubject
from moneyrail.auth.tenancy import tenant_scope
from moneyrail.identity.clients.models import OAuthClient
from moneyrail.identity.sessions.schemas import MeOut
from moneyrail.identity.users.models import User


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
