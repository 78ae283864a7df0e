"""SQL for the interest job; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.models import BankAccount, BankTransaction
from moneyrail.banking.interest.models import InterestAccrual, InterestCredit
from moneyrail.core.db import Base


class InterestRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def tenants_with_savings(self, session: AsyncSession) -> list[str]:
        """Tenants owning interest-bearing accounts (needs a session that sees every tenant)."""
        rows = await session.scalars(
            select(BankAccount.tenant_id)
            .where(BankAccount.account_type == "SAVINGS", BankAccount.status != "closed")
            .distinct()
            .order_by(BankAccount.tenant_id)
        )
        return list(rows.all())

    async def savings_accounts(
        self,
        session: AsyncSession,
        tenant_id: str,
        *,
        opened_before: datetime,
        after_id: str | None,
        limit: int,
    ) -> Sequence[BankAccount]:
        stmt = select(BankAccount).where(
            BankAccount.tenant_id == tenant_id,
            BankAccount.account_type == "SAVINGS",
            BankAccount.status != "closed",
            BankAccount.opened_at < opened_before,
        )
        if after_id is not None:
            stmt = stmt.where(BankAccount.id > after_id)
        return (await session.scalars(stmt.order_by(BankAccount.id).limit(limit))).all()

    async def balances_before(
        self, session: AsyncSession, tenant_id: str, account_ids: Sequence[str], before: datetime
    ) -> dict[str, int]:
        """End-of-period balances of several accounts from the journal (absent: zero)."""
        if not account_ids:
            return {}
        scope = (
            BankTransaction.tenant_id == tenant_id,
            BankTransaction.created_at < before,
        )
        credits = select(
            BankTransaction.credit_account_id.label("account_id"),
            BankTransaction.amount.label("amount"),
        ).where(*scope, BankTransaction.credit_account_id.in_(account_ids))
        debits = select(
            BankTransaction.debit_account_id.label("account_id"),
            (-BankTransaction.amount).label("amount"),
        ).where(*scope, BankTransaction.debit_account_id.in_(account_ids))
        moves = union_all(credits, debits).subquery()
        rows = await session.execute(
            select(moves.c.account_id, func.sum(moves.c.amount)).group_by(moves.c.account_id)
        )
        return {account_id: int(total) for account_id, total in rows}

    async def credited_accounts(
        self, session: AsyncSession, tenant_id: str, account_ids: Sequence[str], period: date
    ) -> set[str]:
        """Accounts whose interest for the month starting `period` was already credited."""
        rows = await session.scalars(
            select(InterestCredit.account_id).where(
                InterestCredit.tenant_id == tenant_id,
                InterestCredit.period == period,
                InterestCredit.account_id.in_(account_ids),
            )
        )
        return set(rows.all())

    async def insert_accrual(self, session: AsyncSession, row: dict[str, Any]) -> bool:
        """Record a day's accrual; False when that day was already accrued."""
        stmt = insert(InterestAccrual).values(**row).on_conflict_do_nothing()
        inserted = await session.execute(stmt.returning(InterestAccrual.account_id))
        return inserted.first() is not None

    async def accrued_between(
        self, session: AsyncSession, tenant_id: str, account_id: str, *, first: date, last: date
    ) -> Decimal:
        total = await session.scalar(
            select(func.coalesce(func.sum(InterestAccrual.amount), 0)).where(
                InterestAccrual.tenant_id == tenant_id,
                InterestAccrual.account_id == account_id,
                InterestAccrual.accrual_date >= first,
                InterestAccrual.accrual_date <= last,
            )
        )
        return Decimal(total or 0)

    async def carried_before(
        self, session: AsyncSession, tenant_id: str, account_id: str, period: date
    ) -> Decimal:
        carried = await session.scalar(
            select(InterestCredit.carried_out)
            .where(
                InterestCredit.tenant_id == tenant_id,
                InterestCredit.account_id == account_id,
                InterestCredit.period < period,
            )
            .order_by(InterestCredit.period.desc())
            .limit(1)
        )
        return Decimal(carried or 0)

    async def insert_credit(self, session: AsyncSession, row: dict[str, Any]) -> bool:
        """Record a month's credit; False when that month was already credited."""
        stmt = insert(InterestCredit).values(**row).on_conflict_do_nothing()
        inserted = await session.execute(stmt.returning(InterestCredit.account_id))
        return inserted.first() is not None


repository = InterestRepository()
