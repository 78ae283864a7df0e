"""Bank accounts: opening, balances, deposits, withdrawals, transfers, status, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from moneyrail.banking.accounts import schemas
from moneyrail.banking.accounts.movements import movements
from moneyrail.banking.accounts.service import accounts
from moneyrail.banking.auth import BankingAdmin, BankingRead, BankingWrite
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
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
    """Open a bank account for an active customer, backed by a new ledger account; an initial deposit,
    if given, posts one ledger entry from the bank's cash account. Fails with 404 for an unknown
    customer or branch, 422 `customer_not_active` or `overdraft_not_allowed` (only CURRENT accounts
    have an overdraft).
    """
    return await accounts.open(session, subject=subject, data=body)


@router.get(
    "/accounts/{number}", response_model=schemas.AccountOut, responses=problem_responses(404)
)
async def get_account(number: str, subject: BankingRead, session: SessionDep) -> Any:
    """Fetch one bank account by its number, with its balances read from the ledger. Fails with 404
    `account_not_found`.
    """
    account = await accounts.get(session, tenant_id=subject.tenant_id, number=number)
    return await accounts.out(session, account)


@router.get(
    "/accounts/{number}/balance",
    response_model=schemas.BalanceOut,
    responses=problem_responses(404),
)
async def get_balance(number: str, subject: BankingRead, session: SessionDep) -> Any:
    """The account's posted, pending and available balances, read from its ledger account. Fails with
    404 `account_not_found`.
    """
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
    """Deposit cash: posts one balanced ledger entry crediting the account from the bank's cash
    account. Fails with 404 `account_not_found`, 422 `account_closed` or `currency_mismatch`.
    """
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
    """Withdraw cash: posts one ledger entry debiting the account to the bank's cash account. Fails
    with 422 `insufficient_funds` (beyond balance and overdraft), `account_frozen` or
    `account_closed`.
    """
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
    """Move money between two accounts of the tenant in one ledger entry. Fails with 404 for an unknown
    account, 422 `same_account_transfer`, `insufficient_funds`, `currency_mismatch`,
    `account_frozen` or `account_closed`.
    """
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
    """List the account's journal (deposits, withdrawals, transfers, interest, loan movements), newest
    first, optionally within a period. Fails with 404 `account_not_found`.
    """
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
    """Freeze, unfreeze or close an account. No money moves; closing needs a zero balance and no open
    loan. Fails with 404 or 422 `invalid_status_transition` / `account_balance_not_zero`.
    """
    return await accounts.set_status(session, subject=subject, number=number, data=body)


@router.get("/customers/{customer_id}/accounts", responses=problem_responses(404))
async def customer_accounts(
    customer_id: str, subject: BankingRead, session: SessionDep, params: Paging
) -> Page[schemas.AccountOut]:
    """List a customer's bank accounts with their balances. Fails with 404 `customer_not_found`."""
    rows, cursor = await accounts.of_customer(
        session, tenant_id=subject.tenant_id, customer_id=customer_id, params=params
    )
    return Page(data=rows, next_cursor=cursor)
