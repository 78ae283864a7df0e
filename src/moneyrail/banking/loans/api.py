"""Loans: maker-checker approval, disbursement, schedule, repayments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.auth import BankingApprove, BankingRead, BankingWrite
from moneyrail.banking.loans import schemas
from moneyrail.banking.loans.service import loans
from moneyrail.banking.loans.views import loan_views
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


async def _decide(
    loan_id: str,
    body: schemas.LoanDecision | None,
    subject: AuthSubject,
    session: AsyncSession,
    *,
    approve: bool,
) -> schemas.LoanOut:
    return await loans.decide(
        session,
        subject=subject,
        loan_id=loan_id,
        approve=approve,
        data=body or schemas.LoanDecision(),
    )


@router.post(
    "/loans",
    status_code=201,
    response_model=schemas.LoanOut,
    responses=problem_responses(404, 422),
)
@idempotent()
async def create_loan(body: schemas.LoanCreate, subject: BankingWrite, session: SessionDep) -> Any:
    return await loans.create(session, subject=subject, data=body)


@router.get("/loans")
async def list_loans(
    subject: BankingRead,
    session: SessionDep,
    params: Paging,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    status: schemas.LoanStatus | None = None,
) -> Page[schemas.LoanOut]:
    rows, cursor = await loan_views.list_loans(
        session,
        tenant_id=subject.tenant_id,
        params=params,
        customer_id=customer_id,
        status=status.value if status else None,
    )
    return Page(data=rows, next_cursor=cursor)


@router.get("/loans/{loan_id}", response_model=schemas.LoanOut, responses=problem_responses(404))
async def get_loan(loan_id: str, subject: BankingRead, session: SessionDep) -> Any:
    return await loan_views.get(session, tenant_id=subject.tenant_id, loan_id=loan_id)


@router.get(
    "/loans/{loan_id}/schedule",
    response_model=schemas.ScheduleOut,
    responses=problem_responses(404),
)
async def loan_schedule(loan_id: str, subject: BankingRead, session: SessionDep) -> Any:
    return await loan_views.schedule(session, tenant_id=subject.tenant_id, loan_id=loan_id)


@router.post(
    "/loans/{loan_id}/approve",
    response_model=schemas.LoanOut,
    responses=problem_responses(403, 404, 422),
)
@idempotent()
async def approve_loan(
    loan_id: str,
    subject: BankingApprove,
    session: SessionDep,
    body: schemas.LoanDecision | None = None,
) -> Any:
    return await _decide(loan_id, body, subject, session, approve=True)


@router.post(
    "/loans/{loan_id}/reject",
    response_model=schemas.LoanOut,
    responses=problem_responses(403, 404, 422),
)
@idempotent()
async def reject_loan(
    loan_id: str,
    subject: BankingApprove,
    session: SessionDep,
    body: schemas.LoanDecision | None = None,
) -> Any:
    return await _decide(loan_id, body, subject, session, approve=False)


@router.post(
    "/loans/{loan_id}/disburse",
    response_model=schemas.LoanOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(required=True)
async def disburse_loan(loan_id: str, subject: BankingWrite, session: SessionDep) -> Any:
    return await loans.disburse(session, subject=subject, loan_id=loan_id)


@router.post(
    "/loans/{loan_id}/repayments",
    status_code=201,
    response_model=schemas.RepaymentOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(required=True)
async def repay_loan(
    loan_id: str,
    body: schemas.RepaymentIn,
    subject: BankingWrite,
    session: SessionDep,
) -> Any:
    return await loans.repay(session, subject=subject, loan_id=loan_id, data=body)
