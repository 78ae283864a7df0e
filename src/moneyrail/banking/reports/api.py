"""Account statements (JSON, CSV, PDF) and the daily summary report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from moneyrail.banking.auth import BankingRead
from moneyrail.banking.reports import schemas
from moneyrail.banking.reports.service import reports
from moneyrail.banking.reports.statements import render_csv, render_pdf
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute
from moneyrail.core.money import MoneyModel
from moneyrail.core.pagination import PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


@router.get(
    "/accounts/{number}/statement",
    response_model=schemas.StatementOut,
    responses={
        200: {
            "content": {"text/csv": {}, "application/pdf": {}},
            "description": "The statement as JSON, CSV or PDF (`format`).",
        },
        **problem_responses(404, 422),
    },
)
async def statement(
    number: str,
    subject: BankingRead,
    session: SessionDep,
    period_from: Annotated[
        date | None, Query(alias="from", description="First day (UTC); default: month start.")
    ] = None,
    period_to: Annotated[
        date | None, Query(alias="to", description="Last day (UTC), inclusive; default: today.")
    ] = None,
    format: schemas.StatementFormat = schemas.StatementFormat.json,
) -> Any:
    """An account statement for a period (UTC days, inclusive) as JSON, CSV or PDF: opening and closing
    balances and every movement with its running balance. Read only. Fails with 404
    `account_not_found` or 422 `invalid_statement_range` / `statement_too_large`.
    """
    result = await reports.statement(
        session,
        tenant_id=subject.tenant_id,
        number=number,
        period_from=period_from,
        period_to=period_to,
    )
    filename = f"statement-{result.account_number}-{result.period_from}-{result.period_to}"
    if format is schemas.StatementFormat.csv:
        return Response(
            render_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    if format is schemas.StatementFormat.pdf:
        return Response(
            render_pdf(result),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}.pdf"'},
        )

    def money(amount: int) -> MoneyModel:
        return MoneyModel(amount=amount, currency=result.currency)

    return schemas.StatementOut(
        account_number=result.account_number,
        account_type=result.account_type,
        customer_name=result.customer_name,
        currency=result.currency,
        from_date=result.period_from,
        to_date=result.period_to,
        opening_balance=money(result.opening_balance),
        closing_balance=money(result.closing_balance),
        total_debits=money(result.total_debits),
        total_credits=money(result.total_credits),
        lines=[
            schemas.StatementLineOut(
                transaction_id=line.transaction_id,
                created_at=line.created_at,
                kind=line.kind,
                description=line.description,
                debit=money(line.debit),
                credit=money(line.credit),
                balance=money(line.balance),
            )
            for line in result.lines
        ],
        generated_at=result.generated_at,
    )


@router.get("/reports/daily-summary", response_model=schemas.DailySummaryOut)
async def daily_summary(
    subject: BankingRead,
    session: SessionDep,
    day: Annotated[date | None, Query(alias="date", description="UTC day; default: today.")] = None,
) -> Any:
    """Counts and totals of the tenant's banking transactions for one UTC day, by kind and currency.
    Read only.
    """
    return await reports.daily_summary(
        session, tenant_id=subject.tenant_id, day=day or datetime.now(UTC).date()
    )
