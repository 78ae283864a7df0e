"""SQL for identity: tenants, users, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.identity.models import ApiKey, Tenant, User


class IdentityRepository:
    async def add(self, session: AsyncSession, row: Tenant | User | ApiKey) -> None:
        session.add(row)
        await session.flush()

    async def tenant(self, session: AsyncSession, tenant_id: str) -> Tenant | None:
        return await session.get(Tenant, tenant_id)

    async def api_key_by_lookup(self, session: AsyncSession, lookup: str) -> ApiKey | None:
        return await session.scalar(select(ApiKey).where(ApiKey.lookup == lookup))

    async def touch_api_key(self, session: AsyncSession, key_id: str, when: datetime) -> None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))

    async def user_by_email(self, session: AsyncSession, email: str) -> User | None:
        return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


repository = IdentityRepository()
