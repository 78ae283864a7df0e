"""SQL for users."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.identity.tenants.repository import across_tenants, add
from moneyrail.identity.users.models import User


class UserRepository:
    across_tenants = staticmethod(across_tenants)

    async def add(self, session: AsyncSession, row: User) -> None:
        await add(session, row)

    async def user_by_email(
        self, session: AsyncSession, email: str, *, for_update: bool = False
    ) -> User | None:
        stmt = select(User).where(func.lower(User.email) == email.lower())
        if for_update:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=True))

    async def user(
        self,
        session: AsyncSession,
        user_id: str,
        *,
        tenant_id: str | None = None,
        for_update: bool = False,
    ) -> User | None:
        stmt = select(User).where(User.id == user_id)
        if tenant_id is not None:
            stmt = stmt.where(User.tenant_id == tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=True))

    def users_of(self, tenant_id: str) -> Select[User]:
        return select(User).where(User.tenant_id == tenant_id)

    async def count_users(
        self, session: AsyncSession, tenant_id: str | None, *, role: str | None = None
    ) -> int:
        stmt = select(func.count()).where(User.status == "active")
        if tenant_id is not None:
            stmt = stmt.where(User.tenant_id == tenant_id)
        if role is not None:
            stmt = stmt.where(User.role == role)
        return int(await session.scalar(stmt) or 0)


repository = UserRepository()
