"""Loans: maker-checker approval, disbursement, schedule, repayments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
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
    """Apply for a loan for a customer's account; it waits for approval by someone other than its
    creator (maker-checker). No money moves yet. Fails with 404 for an unknown customer or account,
    422 `invalid_loan_terms` or `customer_not_active`.
    """
    return await loans.create(session, subject=subject, data=body)


@router.get("/loans")
async def list_loans(
    subject: BankingRead,
    session: SessionDep,
    params: Paging,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    status: schemas.LoanStatus | None = None,
) -> Page[schemas.LoanOut]:
    """List the tenant's loans, optionally by status or customer, a page at a time."""
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
    """Fetch one loan with its outstanding amounts and next due installment. Fails with 404
    `loan_not_found`.
    """
    return await loan_views.get(session, tenant_id=subject.tenant_id, loan_id=loan_id)


@router.get(
    "/loans/{loan_id}/schedule",
    response_model=schemas.ScheduleOut,
    responses=problem_responses(404),
)
async def loan_schedule(loan_id: str, subject: BankingRead, session: SessionDep) -> Any:
    """The loan's amortization schedule: each installment's principal, interest, due date and what was
    paid. Fails with 404 `loan_not_found`.
    """
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
    body: Annotated[
        schemas.LoanDecision | None,
        Body(
            openapi_examples={
                "note": {
                    "summary": "A decision with a note",
                    "value": {"note": "Income and credit history verified"},
                }
            }
        ),
    ] = None,
) -> Any:
    """Approve a pending loan. No money moves until disbursement. Fails with 403
    `maker_checker_violation` when the approver created the loan, 404 `loan_not_found` or 422
    `invalid_loan_status`.
    """
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
    body: Annotated[
        schemas.LoanDecision | None,
        Body(
            openapi_examples={
                "note": {
                    "summary": "A decision with a note",
                    "value": {"note": "Income and credit history verified"},
                }
            }
        ),
    ] = None,
) -> Any:
    """Reject a pending loan, with an optional reason. No money moves. Fails with 403
    `maker_checker_violation`, 404 `loan_not_found` or 422 `invalid_loan_status`.
    """
    return await _decide(loan_id, body, subject, session, approve=False)


@router.post(
    "/loans/{loan_id}/disburse",
    response_model=schemas.LoanOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(required=True)
async def disburse_loan(loan_id: str, subject: BankingWrite, session: SessionDep) -> Any:
    """Disburse an approved loan: one ledger entry moves the principal from the loan's receivable
    account into the customer's account, and the schedule starts. Fails with 404 `loan_not_found` or
    422 `invalid_loan_status` / `account_closed`.
    """
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
    """Repay a disbursed loan from its account: one ledger entry pays due interest then principal,
    oldest installment first; the loan closes when nothing is owed. Fails with 422
    `repayment_exceeds_outstanding`, `insufficient_funds` or `invalid_loan_status`.
    """
    return await loans.repay(session, subject=subject, loan_id=loan_id, data=body)
