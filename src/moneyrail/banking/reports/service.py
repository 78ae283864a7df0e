"""Statements of bank accounts and the daily summary report, from the banking journal."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.movements import account_by_number, end_of, start_of
from moneyrail.banking.customers.service import customers
from moneyrail.banking.reports import schemas
from moneyrail.banking.reports.repository import repository
from moneyrail.banking.reports.statements import Movement, Statement, running_lines
from moneyrail.core import limits
from moneyrail.core.errors import Unprocessable
from moneyrail.core.money import MoneyModel


class InvalidStatementRange(Unprocessable):
    code = "invalid_statement_range"
    title = "Invalid statement period"


class StatementTooLarge(Unprocessable):
    code = "statement_too_large"
    title = "Too many transactions for one statement"


class ReportsService:
    async def statement(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        number: str,
        period_from: date | None,
        period_to: date | None,
    ) -> Statement:
        """Opening balance, every line with its running balance, closing balance (UTC days).

        Raises:
            AccountNotFound, InvalidStatementRange, StatementTooLarge.
        """
        account = await account_by_number(session, tenant_id=tenant_id, number=number)
        now = datetime.now(UTC)
        last = period_to or now.date()
        first = period_from or last.replace(day=1)
        if last < first:
            raise InvalidStatementRange("`from` must not be after `to`")
        if (last - first).days >= limits.statement_range_days_max:
            raise InvalidStatementRange(
                f"a statement covers at most {limits.statement_range_days_max} days"
            )
        since, until = start_of(first), end_of(last)
        rows = await repository.movements(
            session,
            tenant_id,
            account.id,
            since=since,
            until=until,
            limit=limits.statement_lines_max + 1,
        )
        if len(rows) > limits.statement_lines_max:
            raise StatementTooLarge(
                f"more than {limits.statement_lines_max} transactions; ask for a shorter period"
            )
        opening = await repository.balance_before(session, tenant_id, account.id, since)
        lines = running_lines(
            opening,
            (
                Movement(
                    transaction_id=row.id,
                    created_at=row.created_at,
                    kind=row.kind,
                    description=row.description,
                    amount=row.amount if row.credit_account_id == account.id else -row.amount,
                )
                for row in rows
            ),
        )
        customer = await customers.customer(
            session, tenant_id=tenant_id, customer_id=account.customer_id
        )
        return Statement(
            account_number=account.number,
            account_type=account.account_type,
            customer_name=f"{customer.first_name} {customer.last_name}",
            currency=account.currency,
            period_from=first,
            period_to=last,
            opening_balance=opening,
            closing_balance=lines[-1].balance if lines else opening,
            lines=tuple(lines),
            generated_at=now,
        )

    async def daily_summary(
        self, session: AsyncSession, *, tenant_id: str, day: date
    ) -> schemas.DailySummaryOut:
        totals = await repository.daily_totals(
            session, tenant_id, since=start_of(day), until=end_of(day)
        )
        groups: dict[str, list[schemas.SummaryRow]] = {
            "deposit": [],
            "withdrawal": [],
            "transfer": [],
        }
        for kind, currency, count, total in totals:
            if kind in groups:
                groups[kind].append(
                    schemas.SummaryRow(
                        currency=currency,
                        count=count,
                        total=MoneyModel(amount=total, currency=currency),
                    )
                )
        return schemas.DailySummaryOut(
            date=day,
            deposits=groups["deposit"],
            withdrawals=groups["withdrawal"],
            transfers=groups["transfer"],
        )


reports = ReportsService()
