"""Identity's face: what other domains (the back office, the CLI, benchmarks and tests)
call. Each method hands over to a sub-domain — tenants, users, keys, clients, sessions —
and the few that span several (a role change that also ends sessions) are composed here.
Methods for the back office answer identity's public schemas (`identity.schemas`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.pagination import PageParams
from moneyrail.identity.clients.repository import repository as client_repository
from moneyrail.identity.clients.schemas import ClientCreatedOut, ClientOut
from moneyrail.identity.clients.service import clients
from moneyrail.identity.clients.views import client_created_out, client_out
from moneyrail.identity.keys.schemas import ApiKeyCreatedOut, ApiKeyOut
from moneyrail.identity.keys.service import IssuedKey, api_keys, check_expiry
from moneyrail.identity.keys.views import api_key_created_out, api_key_out
from moneyrail.identity.sessions.service import login
from moneyrail.identity.tenants.models import Tenant
from moneyrail.identity.tenants.repository import across_tenants
from moneyrail.identity.tenants.service import tenants
from moneyrail.identity.users.models import User
from moneyrail.identity.users.repository import repository as user_repository
from moneyrail.identity.users.schemas import RoleChangeOut, UserOut
from moneyrail.identity.users.service import users
from moneyrail.identity.users.views import user_out


class IdentityService:
    # --- tenants, users and keys, as rows (the CLI, the demo, benchmarks, tests) -----------
    async def create_tenant(self, session: AsyncSession, *, name: str) -> Tenant:
        return await tenants.create(session, name=name)

    async def create_user(
        self,
        session: AsyncSession,
        *,
        tenant_id: str | None,
        email: str,
        password: str,
        role: Role,
        name: str | None = None,
        mobile: str | None = None,
        platform_admin: bool = False,
        creator: AuthSubject | None = None,
    ) -> User:
        """Raises WeakPassword, Forbidden (a role above the creator's), EmailTaken."""
        return await users.create(
            session,
            tenant_id=tenant_id,
            email=email,
            password=password,
            role=role,
            name=name,
            mobile=mobile,
            platform_admin=platform_admin,
            creator=creator,
        )

    async def issue_api_key(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        name: str,
        role: Role,
        environment: str = "test",
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        client_id: str | None = None,
        created_by: str | None = None,
    ) -> IssuedKey:
        """A key issued by the platform (no creating subject). Raises InvalidScopes."""
        return await api_keys.issue(
            session,
            tenant_id=tenant_id,
            name=name,
            role=role,
            environment=environment,
            scopes=scopes,
            expires_at=expires_at,
            client_id=client_id,
            created_by=created_by,
        )

    async def counts(self, session: AsyncSession, *, tenant_id: str | None) -> dict[str, int]:
        """Active users, OAuth2 clients and API keys of a tenant (None: of every tenant,
        for platform administrators)."""
        if tenant_id is None:
            async with across_tenants(session):
                return await self._counts(session, None)
        return await self._counts(session, tenant_id)

    async def _counts(self, session: AsyncSession, tenant_id: str | None) -> dict[str, int]:
        return {
            "users": await user_repository.count_users(session, tenant_id),
            "clients": await client_repository.count_clients(session, tenant_id),
            "api_keys": await api_keys.count_active(session, tenant_id),
        }

    # --- the back office ------------------------------------------------------------------
    async def list_users(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[UserOut], str | None]:
        rows, cursor = await users.list_users(session, tenant_id=tenant_id, params=params)
        return [user_out(r) for r in rows], cursor

    async def add_user(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        email: str,
        password: str,
        role: Role,
        name: str | None = None,
        mobile: str | None = None,
    ) -> UserOut:
        """A user of the subject's tenant. Raises WeakPassword, Forbidden, EmailTaken."""
        user = await users.create(
            session,
            tenant_id=subject.tenant_id,
            email=email,
            password=password,
            role=role,
            name=name,
            mobile=mobile,
            creator=subject,
        )
        return user_out(user)

    async def set_user_role(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        user_id: str,
        role: Role,
        revoke_api_keys: bool = False,
    ) -> RoleChangeOut:
        """Change a user's role: their access tokens stop working at once. A demotion also
        ends their sessions and lists the API keys they minted (revoking them first when
        `revoke_api_keys` is set), for review.

        Raises:
            UserNotFound, Forbidden, LastOwner.
        """
        before = await users.get(session, tenant_id=subject.tenant_id, user_id=user_id)
        previous = Role(before.role)
        user = await users.set_role(session, subject=subject, user_id=user_id, role=role)
        review: list[ApiKeyOut] = []
        if not role_at_least(role, previous):
            await login.end_user_sessions(session, user_id=user.id, reason="role_changed")
            minted = await api_keys.minted_by(
                session, subject=subject, user_id=user.id, revoke=revoke_api_keys
            )
            review = [api_key_out(k) for k in minted]
        return RoleChangeOut(**user_out(user).model_dump(), api_keys_for_review=review)

    async def set_user_status(
        self, session: AsyncSession, *, subject: AuthSubject, user_id: str, status: str
    ) -> UserOut:
        """Disable or enable a user. Disabling ends their sessions and access tokens, and the
        API keys they minted stop working, at once.

        Raises:
            UserNotFound, Forbidden, LastOwner.
        """
        user = await users.set_status(session, subject=subject, user_id=user_id, status=status)
        if status != "active":
            await login.end_user_sessions(session, user_id=user.id, reason="user_disabled")
        return user_out(user)

    async def list_clients(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[ClientOut], str | None]:
        rows, cursor = await clients.list_clients(session, tenant_id=tenant_id, params=params)
        return [client_out(r) for r in rows], cursor

    async def create_client(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        name: str,
        role: Role,
        scopes: Iterable[str] | None = None,
        description: str | None = None,
        contact_email: str | None = None,
    ) -> ClientCreatedOut:
        """Raises Forbidden (a role above the creator's) and InvalidScopes."""
        created = await clients.create(
            session,
            subject=subject,
            name=name,
            role=role,
            scopes=scopes,
            description=description,
            contact_email=contact_email,
        )
        return client_created_out(created.record, created.secret)

    async def update_client(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        client_id: str,
        changes: dict[str, Any],
    ) -> ClientOut:
        """Raises ClientNotFound, Forbidden, InvalidScopes."""
        row = await clients.update(session, subject=subject, client_id=client_id, changes=changes)
        return client_out(row)

    async def create_client_key(
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
    ) -> ApiKeyCreatedOut:
        """Raises ExpiryInPast, ClientNotFound, Forbidden, InvalidScopes."""
        check_expiry(expires_at)
        issued = await clients.issue_key(
            session,
            subject=subject,
            client_id=client_id,
            name=name,
            role=role,
            environment=environment,
            scopes=scopes,
            expires_at=expires_at,
        )
        return api_key_created_out(issued.record, issued.key)


identity = IdentityService()
