"""SQL for loans; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.loans.models import Loan, LoanInstallment
from moneyrail.banking.shared import Lock, locked
from moneyrail.core.db import Base
from moneyrail.core.pagination import PageParams, paginate_by_key


class LoansRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def loan(
        self, session: AsyncSession, tenant_id: str, loan_id: str, *, lock: Lock = None
    ) -> Loan | None:
        stmt = select(Loan).where(Loan.tenant_id == tenant_id, Loan.id == loan_id)
        return await session.scalar(locked(stmt, lock))

    async def loans(
        self,
        session: AsyncSession,
        tenant_id: str,
        params: PageParams,
        *,
        customer_id: str | None,
        status: str | None,
    ) -> Sequence[Loan]:
        stmt = select(Loan).where(Loan.tenant_id == tenant_id)
        if customer_id is not None:
            stmt = stmt.where(Loan.customer_id == customer_id)
        if status is not None:
            stmt = stmt.where(Loan.status == status)
        return (await session.scalars(paginate_by_key(stmt, Loan.id.expression, params))).all()

    async def installments(
        self, session: AsyncSession, tenant_id: str, loan_id: str
    ) -> list[LoanInstallment]:
        stmt = (
            select(LoanInstallment)
            .where(LoanInstallment.tenant_id == tenant_id, LoanInstallment.loan_id == loan_id)
            .order_by(LoanInstallment.number)
        )
        return list((await session.scalars(stmt)).all())


repository = LoansRepository()
