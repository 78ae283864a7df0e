"""A tenant's banking settings (the savings interest rate)."""

from __future__ import annotations

from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.settings import schemas
from moneyrail.banking.settings.repository import repository
from moneyrail.banking.shared import record

# The savings rate until a bank sets its own (interest accrual reads it through this service).
DEFAULT_SAVINGS_RATE_PERCENT = Decimal("3.5")

log = structlog.get_logger(__name__)


class SettingsService:
    async def savings_rate(self, session: AsyncSession, *, tenant_id: str) -> Decimal:
        settings = await repository.settings(session, tenant_id)
        return settings.savings_rate if settings is not None else DEFAULT_SAVINGS_RATE_PERCENT

    async def settings(self, session: AsyncSession, *, tenant_id: str) -> schemas.BankSettingsOut:
        row = await repository.settings(session, tenant_id)
        if row is None:
            return schemas.BankSettingsOut(
                savings_rate=DEFAULT_SAVINGS_RATE_PERCENT, updated_at=None
            )
        return schemas.BankSettingsOut(savings_rate=row.savings_rate, updated_at=row.updated_at)

    async def update_settings(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.BankSettingsIn
    ) -> schemas.BankSettingsOut:
        before = await self.savings_rate(session, tenant_id=subject.tenant_id)
        row = await repository.save_settings(
            session, subject.tenant_id, savings_rate=data.savings_rate, actor_id=subject.actor_id
        )
        await record(
            session,
            subject=subject,
            tenant_id=subject.tenant_id,
            action="settings.updated",
            target_type="bank_settings",
            target_id=subject.tenant_id,
            before={"savings_rate": str(before)},
            after={"savings_rate": str(row.savings_rate)},
        )
        return schemas.BankSettingsOut(savings_rate=row.savings_rate, updated_at=row.updated_at)


bank_settings = SettingsService()
