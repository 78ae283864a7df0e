"""OAuth2 clients: created by tenant administrators, authenticated by id and secret."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.roles import ROLE_SCOPES, Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import security
from moneyrail.core.errors import Forbidden, NotFound
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.identity.clients.models import OAuthClient
from moneyrail.identity.clients.repository import repository
from moneyrail.identity.keys.service import InvalidScopes, IssuedKey, api_keys

CLIENT_ID_PREFIX = "cli"
CLIENT_SECRET_PREFIX = "mrcs_"  # noqa: S105 - a public marker, not a secret
CLIENT_TOUCH_INTERVAL = timedelta(minutes=1)


class ClientNotFound(NotFound):
    code = "client_not_found"
    title = "Client not found"


@dataclass(frozen=True)
class CreatedClient:
    record: OAuthClient
    secret: str  # shown once


def _checked_scopes(role: Role, scopes: Iterable[str] | None) -> list[str]:
    chosen = sorted(set(scopes or ()))
    unknown = [s for s in chosen if s not in ROLE_SCOPES[role]]
    if unknown:
        raise InvalidScopes(f"scopes not allowed for role {role.value}: {', '.join(unknown)}")
    return chosen


def client_scopes(client: OAuthClient) -> frozenset[str]:
    """What a client may ask for: its scopes, or its role's when none were set."""
    return frozenset(client.scopes) if client.scopes else ROLE_SCOPES[Role(client.role)]


def _summary(client: OAuthClient) -> dict[str, Any]:
    return {
        "name": client.name,
        "role": client.role,
        "scopes": list(client.scopes or []),
        "status": client.status,
    }


class ClientService:
    async def create(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        name: str,
        role: Role,
        scopes: Iterable[str] | None = None,
        description: str | None = None,
        contact_email: str | None = None,
    ) -> CreatedClient:
        """Raises Forbidden (role above the creator's) and InvalidScopes."""
        if not role_at_least(subject.role, role):
            raise Forbidden("a client cannot carry a higher role than its creator")
        secret = security.generate_token(CLIENT_SECRET_PREFIX)
        client = OAuthClient(
            tenant_id=subject.tenant_id,
            id=new_id(CLIENT_ID_PREFIX),
            name=name,
            description=description,
            contact_email=contact_email,
            secret_hash=security.token_digest(secret),
            secret_last4=secret[-4:],
            role=role.value,
            scopes=_checked_scopes(role, scopes),
            created_by=subject.actor_id,
        )
        await repository.add(session, client)
        await audit.record(
            session,
            subject=subject,
            action="identity.client.created",
            target_type="oauth_client",
            target_id=client.id,
            after=_summary(client),
        )
        return CreatedClient(record=client, secret=secret)

    async def get(self, session: AsyncSession, *, tenant_id: str, client_id: str) -> OAuthClient:
        """Raises ClientNotFound."""
        client = await repository.client(session, client_id, tenant_id=tenant_id)
        if client is None:
            raise ClientNotFound(f"no client {client_id}")
        return client

    async def list_clients(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[OAuthClient], str | None]:
        stmt = paginate_by_key(repository.clients_of(tenant_id), OAuthClient.id.expression, params)
        rows = (await session.scalars(stmt)).all()
        return make_page(rows, params, lambda row: row.id)

    async def update(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        client_id: str,
        changes: dict[str, Any],
    ) -> OAuthClient:
        """Apply `changes` (name, description, contact_email, role, scopes, status).

        Raises:
            ClientNotFound, Forbidden (role above the caller's), InvalidScopes.
        """
        client = await self.get(session, tenant_id=subject.tenant_id, client_id=client_id)
        before = _summary(client)
        if not role_at_least(subject.role, Role(client.role)):
            raise Forbidden("a client with a higher role than yours cannot be changed by you")
        role = Role(changes["role"]) if changes.get("role") else Role(client.role)
        if not role_at_least(subject.role, role):
            raise Forbidden("a client cannot carry a higher role than yours")
        for field in ("name", "description", "contact_email", "status"):
            if field in changes and changes[field] is not None:
                setattr(client, field, changes[field])
        client.role = role.value
        if "scopes" in changes and changes["scopes"] is not None:
            client.scopes = _checked_scopes(role, changes["scopes"])
        else:
            client.scopes = _checked_scopes(role, client.scopes)
        client.updated_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            subject=subject,
            action="identity.client.updated",
            target_type="oauth_client",
            target_id=client.id,
            before=before,
            after=_summary(client),
        )
        return client

    async def update_own_profile(
        self, session: AsyncSession, *, subject: AuthSubject, changes: dict[str, Any]
    ) -> OAuthClient:
        """A client edits its own descriptive fields (never role, scopes or status)."""
        allowed = {
            k: v for k, v in changes.items() if k in ("name", "description", "contact_email")
        }
        client = await self.get(session, tenant_id=subject.tenant_id, client_id=subject.actor_id)
        before = _summary(client)
        for field, value in allowed.items():
            if value is not None:
                setattr(client, field, value)
        client.updated_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            subject=subject,
            action="identity.client.profile_updated",
            target_type="oauth_client",
            target_id=client.id,
            before=before,
            after=_summary(client),
        )
        return client

    async def issue_key(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        client_id: str,
        name: str,
        role: Role | None,
        environment: str,
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        """An API key that belongs to a client; never above the client's role.

        Raises:
            ClientNotFound, Forbidden, InvalidScopes.
        """
        client = await self.get(session, tenant_id=subject.tenant_id, client_id=client_id)
        key_role = role or Role(client.role)
        if not role_at_least(Role(client.role), key_role):
            raise Forbidden("a client's key cannot carry a higher role than the client")
        return await api_keys.create(
            session,
            subject=subject,
            name=name,
            role=key_role,
            environment=environment,
            scopes=scopes,
            expires_at=expires_at,
            client_id=client.id,
        )

    async def authenticate(
        self, session: AsyncSession, *, client_id: str, client_secret: str
    ) -> OAuthClient | None:
        """The active client these credentials belong to, or None."""
        if not client_id.startswith(CLIENT_ID_PREFIX + "_"):
            return None
        async with repository.across_tenants(session):
            client = await repository.client(session, client_id)
            digest = security.token_digest(client_secret)
            if client is None or not security.constant_time_equals(digest, client.secret_hash):
                return None
            if client.status != "active":
                return None
            now = datetime.now(UTC)
            if client.last_used_at is None or now - client.last_used_at > CLIENT_TOUCH_INTERVAL:
                await repository.touch_client(session, client, now)
        return client


clients = ClientService()
