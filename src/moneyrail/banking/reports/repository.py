"""SQL for statements and reports; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.models import BankTransaction
from moneyrail.banking.accounts.repository import signed_amount, touches
from moneyrail.core.db import Base


class ReportsRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def movements(
        self,
        session: AsyncSession,
        tenant_id: str,
        account_id: str,
        *,
        since: datetime,
        until: datetime,
        limit: int,
    ) -> Sequence[BankTransaction]:
        """Journal rows of an account in a period, oldest first, at most `limit`."""
        stmt = (
            select(BankTransaction)
            .where(
                BankTransaction.tenant_id == tenant_id,
                touches(account_id),
                BankTransaction.created_at >= since,
                BankTransaction.created_at < until,
            )
            .order_by(BankTransaction.created_at, BankTransaction.id)
            .limit(limit)
        )
        return (await session.scalars(stmt)).all()

    async def balance_before(
        self, session: AsyncSession, tenant_id: str, account_id: str, before: datetime
    ) -> int:
        """The account's balance from its journal up to (excluding) `before`."""
        total = await session.scalar(
            select(func.coalesce(func.sum(signed_amount(account_id)), 0)).where(
                BankTransaction.tenant_id == tenant_id,
                touches(account_id),
                BankTransaction.created_at < before,
            )
        )
        return int(total or 0)

    async def daily_totals(
        self, session: AsyncSession, tenant_id: str, *, since: datetime, until: datetime
    ) -> list[tuple[str, str, int, int]]:
        """(kind, currency, count, sum) of journal rows in a period."""
        rows = await session.execute(
            select(
                BankTransaction.kind,
                BankTransaction.currency,
                func.count(),
                func.coalesce(func.sum(BankTransaction.amount), 0),
            )
            .where(
                BankTransaction.tenant_id == tenant_id,
                BankTransaction.created_at >= since,
                BankTransaction.created_at < until,
            )
            .group_by(BankTransaction.kind, BankTransaction.currency)
            .order_by(BankTransaction.kind, BankTransaction.currency)
        )
        return [(kind, currency, int(count), int(total)) for kind, currency, count, total in rows]


repository = ReportsRepository()
