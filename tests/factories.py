"""Plain async factories for test data (no mocks: real rows through the real services)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.identity.roles import Role
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
