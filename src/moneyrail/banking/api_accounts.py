"""Bank accounts: opening, balances, deposits, withdrawals, transfers, status, statements;
and the daily summary report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from moneyrail.banking import schemas
from moneyrail.banking.accounts_service import accounts
from moneyrail.banking.auth import BankingAdmin, BankingRead, BankingWrite
from moneyrail.banking.movements_service import movements
from moneyrail.banking.reports_service import reports
from moneyrail.banking.statements import render_csv, render_pdf
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.money import MoneyModel
from moneyrail.core.pagination import Page, PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]
MOVE_ERRORS = problem_responses(400, 404, 409, 422)


@router.post(
    "/accounts",
    status_code=201,
    response_model=schemas.AccountOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(
    required_when=lambda body: body.initial_deposit is not None and body.initial_deposit.amount > 0,
    required_detail="an initial deposit moves money; send an Idempotency-Key",
)
async def open_account(
    body: schemas.AccountOpen, subject: BankingWrite, session: SessionDep
) -> Any:
    return await accounts.open(session, subject=subject, data=body)


@router.get(
    "/accounts/{number}", response_model=schemas.AccountOut, responses=problem_responses(404)
)
async def get_account(number: str, subject: BankingRead, session: SessionDep) -> Any:
    account = await accounts.get(session, tenant_id=subject.tenant_id, number=number)
    return await accounts.out(session, account)


@router.get(
    "/accounts/{number}/balance",
    response_model=schemas.BalanceOut,
    responses=problem_responses(404),
)
async def get_balance(number: str, subject: BankingRead, session: SessionDep) -> Any:
    account = await accounts.get(session, tenant_id=subject.tenant_id, number=number)
    return await accounts.balance_of(session, account)


@router.post(
    "/accounts/{number}/deposit",
    status_code=201,
    response_model=schemas.TransactionOut,
    responses=MOVE_ERRORS,
)
@idempotent(required=True)
async def deposit(
    number: str, body: schemas.CashIn, subject: BankingWrite, session: SessionDep
) -> Any:
    return await movements.deposit(session, subject=subject, number=number, data=body)


@router.post(
    "/accounts/{number}/withdraw",
    status_code=201,
    response_model=schemas.TransactionOut,
    responses=MOVE_ERRORS,
)
@idempotent(required=True)
async def withdraw(
    number: str, body: schemas.CashIn, subject: BankingWrite, session: SessionDep
) -> Any:
    return await movements.withdraw(session, subject=subject, number=number, data=body)


@router.post(
    "/accounts/{number}/transfer",
    status_code=201,
    response_model=schemas.TransactionOut,
    responses=MOVE_ERRORS,
)
@idempotent(required=True)
async def transfer(
    number: str, body: schemas.TransferIn, subject: BankingWrite, session: SessionDep
) -> Any:
    return await movements.transfer(session, subject=subject, number=number, data=body)


@router.get("/accounts/{number}/transactions", responses=problem_responses(404))
async def list_transactions(
    number: str,
    subject: BankingRead,
    session: SessionDep,
    params: Paging,
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
) -> Page[schemas.TransactionOut]:
    rows, cursor = await movements.history(
        session,
        tenant_id=subject.tenant_id,
        number=number,
        params=params,
        since=since,
        until=until,
    )
    return Page(data=rows, next_cursor=cursor)


@router.patch(
    "/accounts/{number}/status",
    response_model=schemas.AccountOut,
    responses=problem_responses(404, 422),
)
async def set_account_status(
    number: str, body: schemas.AccountStatusUpdate, subject: BankingAdmin, session: SessionDep
) -> Any:
    return await accounts.set_status(session, subject=subject, number=number, data=body)


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
    return await reports.daily_summary(
        session, tenant_id=subject.tenant_id, day=day or datetime.now(UTC).date()
    )
