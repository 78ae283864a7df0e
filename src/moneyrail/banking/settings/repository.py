"""SQL for banking settings."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.settings.models import BankSettings
from moneyrail.core.db import Base


class SettingsRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def settings(self, session: AsyncSession, tenant_id: str) -> BankSettings | None:
        return await session.scalar(select(BankSettings).where(BankSettings.tenant_id == tenant_id))

    async def save_settings(
        self, session: AsyncSession, tenant_id: str, *, savings_rate: Decimal, actor_id: str
    ) -> BankSettings:
        base = insert(BankSettings).values(
            tenant_id=tenant_id, savings_rate=savings_rate, updated_by=actor_id
        )
        stmt = base.on_conflict_do_update(
            index_elements=[BankSettings.tenant_id],
            set_={"savings_rate": savings_rate, "updated_by": actor_id, "updated_at": func.now()},
        ).returning(BankSettings)
        row = (await session.execute(stmt)).scalar_one()
        await session.refresh(row)
        return row


repository = SettingsRepository()
