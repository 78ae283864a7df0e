"""SQL for banking. Every statement filters by tenant explicitly; row-level security backs it up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, case, func, literal, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.models import (
    AccountNumberSequence,
    BankAccount,
    BankSettings,
    BankTransaction,
    Branch,
    Customer,
    InterestAccrual,
    InterestCredit,
    Loan,
    LoanInstallment,
    LoanRepayment,
)
from moneyrail.core.pagination import PageParams, paginate_by_key

Lock = Literal["share", "update"] | None
Row = Branch | Customer | BankAccount | BankTransaction | Loan | LoanInstallment | LoanRepayment


S = TypeVar("S", bound=Select[Any])


def _locked(stmt: S, lock: Lock) -> S:
    if lock == "update":
        return stmt.with_for_update()
    if lock == "share":
        return stmt.with_for_update(read=True)
    return stmt


def _signed_amount(account_id: str) -> Any:
    """A journal row's effect on one account: credits raise a customer balance, debits lower it."""
    return case(
        (BankTransaction.credit_account_id == account_id, BankTransaction.amount),
        else_=-BankTransaction.amount,
    )


def _touches(account_id: str) -> Any:
    return or_(
        BankTransaction.debit_account_id == account_id,
        BankTransaction.credit_account_id == account_id,
    )


class BankingRepository:
    async def add(self, session: AsyncSession, *rows: Row) -> None:
        session.add_all(rows)
        await session.flush()

    # --- branches -----------------------------------------------------------------------------

    async def branch_by_code(
        self, session: AsyncSession, tenant_id: str, code: str
    ) -> Branch | None:
        return await session.scalar(
            select(Branch).where(Branch.tenant_id == tenant_id, Branch.code == code)
        )

    async def branches(
        self, session: AsyncSession, tenant_id: str, params: PageParams
    ) -> Sequence[Branch]:
        stmt = select(Branch).where(Branch.tenant_id == tenant_id)
        return (await session.scalars(paginate_by_key(stmt, Branch.id.expression, params))).all()

    # --- customers ----------------------------------------------------------------------------

    async def customer(
        self, session: AsyncSession, tenant_id: str, customer_id: str, *, lock: Lock = None
    ) -> Customer | None:
        stmt = select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        return await session.scalar(_locked(stmt, lock))

    async def customer_by_email(
        self, session: AsyncSession, tenant_id: str, email: str
    ) -> Customer | None:
        return await session.scalar(
            select(Customer).where(
                Customer.tenant_id == tenant_id, func.lower(Customer.email) == email.lower()
            )
        )

    async def customers(
        self, session: AsyncSession, tenant_id: str, params: PageParams, *, query: str | None
    ) -> Sequence[Customer]:
        stmt = select(Customer).where(Customer.tenant_id == tenant_id)
        if query:
            needle = query.lower()
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # A substring search served by the trigram index.
            stmt = stmt.where(Customer.search_text.like(f"%{escaped}%", escape="\\"))
        return (await session.scalars(paginate_by_key(stmt, Customer.id.expression, params))).all()

    async def similar_customers(
        self, session: AsyncSession, tenant_id: str, query: str, *, limit: int
    ) -> Sequence[Customer]:
        """Near misses (typos) by trigram word similarity, best first."""
        needle = literal(query.lower())
        stmt = (
            select(Customer)
            .where(Customer.tenant_id == tenant_id, needle.op("<%")(Customer.search_text))
            .order_by(func.word_similarity(needle, Customer.search_text).desc(), Customer.id)
            .limit(limit)
        )
        return (await session.scalars(stmt)).all()

    # --- accounts -----------------------------------------------------------------------------

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
        return await session.scalar(_locked(stmt, lock))

    async def account_by_id(
        self, session: AsyncSession, tenant_id: str, account_id: str, *, lock: Lock = None
    ) -> BankAccount | None:
        stmt = select(BankAccount).where(
            BankAccount.tenant_id == tenant_id, BankAccount.id == account_id
        )
        return await session.scalar(_locked(stmt, lock))

    async def accounts_by_numbers(
        self, session: AsyncSession, tenant_id: str, numbers: Sequence[str], *, lock: Lock = None
    ) -> list[BankAccount]:
        """Accounts in number order, so two transfers lock shared rows in the same order."""
        stmt = (
            select(BankAccount)
            .where(BankAccount.tenant_id == tenant_id, BankAccount.number.in_(numbers))
            .order_by(BankAccount.number)
        )
        return list((await session.scalars(_locked(stmt, lock))).all())

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
            BankTransaction.tenant_id == tenant_id, _touches(account_id)
        )
        if since is not None:
            stmt = stmt.where(BankTransaction.created_at >= since)
        if until is not None:
            stmt = stmt.where(BankTransaction.created_at < until)
        return (
            await session.scalars(paginate_by_key(stmt, BankTransaction.id.expression, params))
        ).all()

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
                _touches(account_id),
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
            select(func.coalesce(func.sum(_signed_amount(account_id)), 0)).where(
                BankTransaction.tenant_id == tenant_id,
                _touches(account_id),
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

    # --- loans --------------------------------------------------------------------------------

    async def loan(
        self, session: AsyncSession, tenant_id: str, loan_id: str, *, lock: Lock = None
    ) -> Loan | None:
        stmt = select(Loan).where(Loan.tenant_id == tenant_id, Loan.id == loan_id)
        return await session.scalar(_locked(stmt, lock))

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

    async def installments(
        self, session: AsyncSession, tenant_id: str, loan_id: str
    ) -> list[LoanInstallment]:
        stmt = (
            select(LoanInstallment)
            .where(LoanInstallment.tenant_id == tenant_id, LoanInstallment.loan_id == loan_id)
            .order_by(LoanInstallment.number)
        )
        return list((await session.scalars(stmt)).all())

    # --- settings and interest ----------------------------------------------------------------

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


repository = BankingRepository()
