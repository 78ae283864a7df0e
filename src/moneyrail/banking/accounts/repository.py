"""SQL for bank accounts and their journal; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.models import AccountNumberSequence, BankAccount, BankTransaction
from moneyrail.banking.loans.models import Loan
from moneyrail.banking.shared import Lock, locked
from moneyrail.core.db import Base
from moneyrail.core.pagination import PageParams, paginate_by_key


def signed_amount(account_id: str) -> Any:
    """A journal row's effect on one account: credits raise a customer balance, debits lower it."""
    return case(
        (BankTransaction.credit_account_id == account_id, BankTransaction.amount),
        else_=-BankTransaction.amount,
    )


def touches(account_id: str) -> Any:
    return or_(
        BankTransaction.debit_account_id == account_id,
        BankTransaction.credit_account_id == account_id,
    )


class AccountsRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def next_account_sequence(self, session: AsyncSession, tenant_id: str, day: date) -> int:
        """The next number of the day for this tenant (a row lock serialises concurrent opens)."""
        base = insert(AccountNumberSequence).values(tenant_id=tenant_id, day=day, last_value=1)
        stmt = base.on_conflict_do_update(
            index_elements=[AccountNumberSequence.tenant_id, AccountNumberSequence.day],
            set_={"last_value": AccountNumberSequence.last_value + 1},
        ).returning(AccountNumberSequence.last_value)
        value = (await session.execute(stmt)).scalar_one()
        return int(value)

    async def account_by_number(
        self, session: AsyncSession, tenant_id: str, number: str, *, lock: Lock = None
    ) -> BankAccount | None:
        stmt = select(BankAccount).where(
            BankAccount.tenant_id == tenant_id, BankAccount.number == number
        )
        return await session.scalar(locked(stmt, lock))

    async def account_by_id(
        self, session: AsyncSession, tenant_id: str, account_id: str, *, lock: Lock = None
    ) -> BankAccount | None:
        stmt = select(BankAccount).where(
            BankAccount.tenant_id == tenant_id, BankAccount.id == account_id
        )
        return await session.scalar(locked(stmt, lock))

    async def accounts_by_numbers(
        self, session: AsyncSession, tenant_id: str, numbers: Sequence[str], *, lock: Lock = None
    ) -> list[BankAccount]:
        """Accounts in number order, so two transfers lock shared rows in the same order."""
        stmt = (
            select(BankAccount)
            .where(BankAccount.tenant_id == tenant_id, BankAccount.number.in_(numbers))
            .order_by(BankAccount.number)
        )
        return list((await session.scalars(locked(stmt, lock))).all())

    async def accounts_of_customer(
        self, session: AsyncSession, tenant_id: str, customer_id: str, params: PageParams
    ) -> Sequence[BankAccount]:
        stmt = select(BankAccount).where(
            BankAccount.tenant_id == tenant_id, BankAccount.customer_id == customer_id
        )
        return (
            await session.scalars(paginate_by_key(stmt, BankAccount.id.expression, params))
        ).all()

    async def account_numbers(
        self, session: AsyncSession, tenant_id: str, account_ids: set[str]
    ) -> dict[str, str]:
        if not account_ids:
            return {}
        rows = await session.execute(
            select(BankAccount.id, BankAccount.number).where(
                BankAccount.tenant_id == tenant_id, BankAccount.id.in_(account_ids)
            )
        )
        return {row.id: row.number for row in rows}

    async def set_account_status(
        self,
        session: AsyncSession,
        account: BankAccount,
        *,
        status: str,
        reason: str | None,
        closed_at: datetime | None,
    ) -> None:
        await session.execute(
            update(BankAccount)
            .where(BankAccount.tenant_id == account.tenant_id, BankAccount.id == account.id)
            .values(status=status, status_reason=reason, closed_at=closed_at)
        )
        await session.refresh(account)

    # --- the journal --------------------------------------------------------------------------

    async def transactions(
        self,
        session: AsyncSession,
        tenant_id: str,
        account_id: str,
        params: PageParams,
        *,
        since: datetime | None,
        until: datetime | None,
    ) -> Sequence[BankTransaction]:
        stmt = select(BankTransaction).where(
            BankTransaction.tenant_id == tenant_id, touches(account_id)
        )
        if since is not None:
            stmt = stmt.where(BankTransaction.created_at >= since)
        if until is not None:
            stmt = stmt.where(BankTransaction.created_at < until)
        return (
            await session.scalars(paginate_by_key(stmt, BankTransaction.id.expression, params))
        ).all()

    async def open_loan_ids_of_account(
        self, session: AsyncSession, tenant_id: str, account_id: str
    ) -> list[str]:
        """Loans not yet rejected or repaid that pay out to or collect from this account."""
        rows = await session.scalars(
            select(Loan.id).where(
                Loan.tenant_id == tenant_id,
                Loan.account_id == account_id,
                Loan.status.not_in(("rejected", "closed")),
            )
        )
        return list(rows.all())


repository = AccountsRepository()
