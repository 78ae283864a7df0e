"""Plain async factories for test data (no mocks: real rows through the real services)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.auth.roles import Role
from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.identity.service import identity


@dataclass(frozen=True)
class TenantContext:
    tenant_id: str
    api_key: str
    api_key_id: str
    role: Role

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def with_idempotency(self, key: str | None = None) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def make_tenant(
    session: AsyncSession, *, role: Role = Role.owner, name: str | None = None
) -> TenantContext:
    """A tenant with one API key of `role`, in the session's (rolled-back) transaction."""
    await bypass_tenant_scope(session)
    tenant = await identity.create_tenant(session, name=name or f"Tenant {uuid.uuid4().hex[:6]}")
    await set_tenant(session, tenant.id)
    issued = await identity.issue_api_key(session, tenant_id=tenant.id, name="test", role=role)
    return TenantContext(tenant.id, issued.key, issued.record.id, role)


async def add_api_key(session: AsyncSession, tenant: TenantContext, *, role: Role) -> TenantContext:
    """Another key of the same tenant with a different role."""
    await set_tenant(session, tenant.tenant_id)
    issued = await identity.issue_api_key(
        session, tenant_id=tenant.tenant_id, name=f"{role.value} key", role=role
    )
    return TenantContext(tenant.tenant_id, issued.key, issued.record.id, role)


async def make_live_tenant(engine: AsyncEngine, *, role: Role = Role.owner) -> TenantContext:
    """A committed tenant, for tests that use `live_client` (real transactions)."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await make_tenant(session, role=role)


@dataclass(frozen=True)
class UserContext:
    tenant_id: str
    user_id: str
    email: str
    password: str
    role: Role


async def add_user(
    session: AsyncSession,
    tenant: TenantContext,
    *,
    role: Role = Role.operator,
    email: str | None = None,
    password: str | None = None,
) -> UserContext:
    """A user of the tenant with a known password (argon2id-hashed like any other)."""
    await set_tenant(session, tenant.tenant_id)
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    password = password or f"pw-{uuid.uuid4().hex}"
    user = await identity.create_user(
        session, tenant_id=tenant.tenant_id, email=email, password=password, role=role
    )
    return UserContext(tenant.tenant_id, user.id, user.email, password, role)


async def add_client(
    session: AsyncSession,
    tenant: TenantContext,
    *,
    role: Role = Role.operator,
    scopes: list[str] | None = None,
) -> tuple[str, str]:
    """An OAuth2 client of the tenant: returns (client_id, client_secret)."""
    from moneyrail.auth.roles import ROLE_SCOPES
    from moneyrail.auth.subject import AuthSubject
    from moneyrail.identity.clients.service import clients

    await set_tenant(session, tenant.tenant_id)
    creator = AuthSubject(
        tenant_id=tenant.tenant_id,
        actor_type="api_key",
        actor_id=tenant.api_key_id,
        role=Role.owner,
        scopes=ROLE_SCOPES[Role.owner],
    )
    created = await clients.create(
        session, subject=creator, name="test client", role=role, scopes=scopes
    )
    return created.record.id, created.secret
