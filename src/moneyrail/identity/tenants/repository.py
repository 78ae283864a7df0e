"""SQL for tenants, and the cross-tenant scope every credential lookup of identity uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import BYPASS_SETTING, Base, bypass_tenant_scope
from moneyrail.identity.tenants.models import Tenant

_BYPASS_OFF = text("SELECT set_config(:name, 'off', true)")


@asynccontextmanager
async def across_tenants(session: AsyncSession) -> AsyncIterator[None]:
    """See every tenant for a credential lookup whose tenant is not known yet."""
    await bypass_tenant_scope(session)
    try:
        yield
    finally:
        await session.execute(_BYPASS_OFF, {"name": BYPASS_SETTING})


async def add(session: AsyncSession, row: Base) -> None:
    session.add(row)
    await session.flush()


class TenantRepository:
    async def add(self, session: AsyncSession, row: Tenant) -> None:
        await add(session, row)

    async def tenant(self, session: AsyncSession, tenant_id: str) -> Tenant | None:
        return await session.get(Tenant, tenant_id)


repository = TenantRepository()
