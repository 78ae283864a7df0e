"""Tenants: an organization is created with its owner at sign-up (or by the CLI)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.ids import new_id
from moneyrail.identity.tenants.models import Tenant
from moneyrail.identity.tenants.repository import repository


class TenantService:
    async def create(self, session: AsyncSession, *, name: str) -> Tenant:
        tenant = Tenant(id=new_id("ten"), name=name)
        await repository.add(session, tenant)
        return tenant


tenants = TenantService()
