"""`/api/v1/ledger`: accounts, transfers, holds, entries, batches, reversals and reports.

Permissions: reads need `ledger:read`; opening accounts, transfers, entries, batches and
posting or voiding holds need `ledger:write`; reversals and the settings need `ledger:admin`.

Money-moving POSTs are exactly-once through the body's `id` (the ledger's own key) or an
`Idempotency-Key` header; one of the two is required.

Audited: settings changes, opening accounts, manual multi-leg entries, reversals and hold posts/voids. Plain
transfers are not audited separately: the append-only ledger is their record, and an audit
row per transfer would serialise a tenant's transfers on its audit chain.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.money import LedgerCurrencyCode
from moneyrail.core.pagination import Page, PageParams, page_params
from moneyrail.ledger.auth import LedgerAdmin, LedgerRead, LedgerWrite
from moneyrail.ledger.schemas import (
    AccountCreate,
    AccountEntryOut,
    BatchIn,
    BatchOut,
    EntryCreate,
    EntryOut,
    LedgerAccountOut,
    LedgerSettingsOut,
    LedgerSettingsUpdate,
    PostPendingIn,
    ReverseIn,
    TransferCreate,
    TransferOut,
    TrialBalanceOut,
)
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import Posting

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=IdempotentRoute)

# Up to 80: entries derived from a 64-character id (`<id>#reversal`) are longer.
TransferId = Annotated[str, Path(min_length=1, max_length=80)]


# Without an `id` in the body, only the Idempotency-Key makes a money movement exactly-once.
WITHOUT_ID = "send an Idempotency-Key header or an `id` in the body"


async def _audit_transfer(
    session: AsyncSession, subject: AuthSubject, action: str, out: TransferOut
) -> None:
    await audit.record(
        session,
        subject=subject,
        action=action,
        target_type="ledger_transfer",
        target_id=out.id,
        after={
            "status": out.status,
            "amount": out.amount.model_dump(),
            "posted_amount": out.posted_amount.model_dump() if out.posted_amount else None,
        },
    )


# --- settings -------------------------------------------------------------------------------


@router.get("/settings", response_model=LedgerSettingsOut)
async def get_settings(subject: LedgerAdmin, session: SessionDep) -> Any:
    """The tenant's ledger settings. Needs `ledger:admin`.

    `precious_metals_enabled` (default false) decides whether accounts may be opened in the
    precious metals XAU, XAG, XPT and XPD (amounts in thousandths of a troy ounce).
    """
    return await ledger.get_settings(session, tenant_id=subject.tenant_id)


@router.put("/settings", response_model=LedgerSettingsOut, responses=problem_responses(422))
async def update_settings(
    body: LedgerSettingsUpdate, subject: LedgerAdmin, session: SessionDep
) -> Any:
    """Change the tenant's ledger settings. Needs `ledger:admin`. Audited.

    With `precious_metals_enabled` true, `POST /ledger/accounts` accepts XAU, XAG, XPT and
    XPD (amounts in thousandths of a troy ounce); while it is false such an account is
    refused with 422 `currency_not_enabled`. Turning it off leaves existing metal accounts
    working.
    """
    before = await ledger.get_settings(session, tenant_id=subject.tenant_id)
    out = await ledger.update_settings(
        session,
        tenant_id=subject.tenant_id,
        precious_metals_enabled=body.precious_metals_enabled,
    )
    await audit.record(
        session,
        subject=subject,
        action="ledger.settings.updated",
        target_type="ledger_settings",
        target_id=subject.tenant_id,
        before={"precious_metals_enabled": before.precious_metals_enabled},
        after={"precious_metals_enabled": out.precious_metals_enabled},
    )
    return out


# --- accounts -------------------------------------------------------------------------------


@router.post(
    "/accounts",
    status_code=201,
    response_model=LedgerAccountOut,
    responses=problem_responses(409, 422),
)
@idempotent()
async def create_account(body: AccountCreate, subject: LedgerWrite, session: SessionDep) -> Any:
    """Open a ledger account. Needs `ledger:write`. 409 `account_code_exists`.

    A precious-metal account (XAU, XAG, XPT, XPD) needs the tenant's ledger setting
    `precious_metals_enabled`; without it, 422 `currency_not_enabled`.
    """
    account = await ledger.create_account(
        session,
        tenant_id=subject.tenant_id,
        code=body.code,
        name=body.name,
        currency=body.currency,
        kind=body.kind,
        balance_limit=body.balance_limit.to_limit(),
        metadata=body.metadata,
    )
    await audit.record(
        session,
        subject=subject,
        action="ledger.account.opened",
        target_type="ledger_account",
        target_id=account.id,
        after={
            "code": account.code,
            "kind": account.kind,
            "currency": account.currency,
            "balance_limit": account.balance_limit.model_dump(),
        },
    )
    return account


@router.get(
    "/accounts/{account_id}", response_model=LedgerAccountOut, responses=problem_responses(404)
)
async def get_account(account_id: str, subject: LedgerRead, session: SessionDep) -> Any:
    """An account with its `posted`, `pending` and `available` balances. Needs `ledger:read`."""
    return await ledger.get_account(session, tenant_id=subject.tenant_id, account_id=account_id)


@router.get(
    "/accounts/{account_id}/entries",
    response_model=Page[AccountEntryOut],
    responses=problem_responses(400, 404),
)
async def account_entries(
    account_id: str,
    subject: LedgerRead,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Any:
    """The account's postings, newest first, each with the posted balance after it."""
    items, next_cursor = await ledger.account_entries(
        session, tenant_id=subject.tenant_id, account_id=account_id, page=page
    )
    return Page[AccountEntryOut](data=items, next_cursor=next_cursor)


# --- transfers ------------------------------------------------------------------------------


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransferOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(required_when=lambda body: body.id is None, required_detail=WITHOUT_ID)
async def create_transfer(body: TransferCreate, subject: LedgerWrite, session: SessionDep) -> Any:
    """Move money between two accounts, or hold it (`pending: true`). Needs `ledger:write`.

    The same `id` with the same fields returns the original transfer; with different
    fields, 409 `transfer_exists_with_different_fields`. 422 `insufficient_funds` when a
    balance limit would break, `currency_mismatch`; 404 `account_not_found`.
    """
    return await ledger.transfer(
        session,
        tenant_id=subject.tenant_id,
        transfer_id=body.id,
        debit_account_id=body.debit_account_id,
        credit_account_id=body.credit_account_id,
        amount=body.amount.to_money(),
        description=body.description,
        metadata=body.metadata,
        pending=body.pending,
        timeout_seconds=body.timeout_seconds,
    )


@router.post(
    "/transfers/batch",
    response_model=BatchOut,
    responses=problem_responses(400, 409, 422),
)
@idempotent(
    required_when=lambda body: any(item.get("id") is None for item in body.transfers),
    required_detail="give every transfer an `id` or send an Idempotency-Key",
)
async def create_batch(body: BatchIn, subject: LedgerWrite, session: SessionDep) -> Any:
    """Up to 1,000 transfers with a result per item; `atomic: true` applies all or none.

    Needs `ledger:write`. Every item needs an `id` unless the request has an Idempotency-Key.
    """
    return await ledger.transfer_batch(
        session, tenant_id=subject.tenant_id, transfers=body.transfers, atomic=body.atomic
    )


@router.get(
    "/transfers/{transfer_id}", response_model=TransferOut, responses=problem_responses(404)
)
async def get_transfer(transfer_id: TransferId, subject: LedgerRead, session: SessionDep) -> Any:
    """A transfer with its status (posted, pending, voided, expired). Needs `ledger:read`."""
    return await ledger.get_transfer(session, tenant_id=subject.tenant_id, transfer_id=transfer_id)


@router.post(
    "/transfers/{transfer_id}/post",
    response_model=TransferOut,
    responses=problem_responses(404, 409, 422),
)
@idempotent()
async def post_pending(
    transfer_id: TransferId,
    subject: LedgerWrite,
    session: SessionDep,
    body: Annotated[
        PostPendingIn | None,
        Body(
            openapi_examples={
                "part": {
                    "summary": "Post part of the hold",
                    "value": {"amount": {"amount": 150000, "currency": "INR"}},
                },
                "all": {"summary": "Post the whole hold", "value": {}},
            }
        ),
    ] = None,
) -> Any:
    """Post a hold in full or in part (`amount`); the rest is released. Needs `ledger:write`.

    409 `pending_transfer_already_posted` / `_already_voided` / `_expired`; 422
    `transfer_not_pending`, `post_amount_exceeds_pending`.
    """
    amount = body.amount.to_money() if body is not None and body.amount is not None else None
    out = await ledger.post_pending(
        session, tenant_id=subject.tenant_id, transfer_id=transfer_id, amount=amount
    )
    await _audit_transfer(session, subject, "ledger.hold.posted", out)
    return out


@router.post(
    "/transfers/{transfer_id}/void",
    response_model=TransferOut,
    responses=problem_responses(404, 409, 422),
)
@idempotent()
async def void_pending(transfer_id: TransferId, subject: LedgerWrite, session: SessionDep) -> Any:
    """Release a hold. Needs `ledger:write`. 409 `pending_transfer_already_posted`."""
    out = await ledger.void_pending(session, tenant_id=subject.tenant_id, transfer_id=transfer_id)
    await _audit_transfer(session, subject, "ledger.hold.voided", out)
    return out


@router.post(
    "/transfers/{transfer_id}/reverse",
    status_code=201,
    response_model=TransferOut,
    responses=problem_responses(404, 409, 422),
)
@idempotent()
async def reverse_transfer(
    transfer_id: TransferId,
    subject: LedgerAdmin,
    session: SessionDep,
    body: Annotated[
        ReverseIn | None,
        Body(
            openapi_examples={
                "refund": {
                    "summary": "A named reversal",
                    "value": {"id": "order-8812:refund", "description": "Order 8812 cancelled"},
                }
            }
        ),
    ] = None,
) -> Any:
    """Write a correcting transfer that undoes a posted one. Needs `ledger:admin`.

    Reversing again returns the same reversal. 409 `transfer_already_reversed`; 422
    `transfer_not_reversible`, `insufficient_funds`.
    """
    out = await ledger.reverse(
        session,
        tenant_id=subject.tenant_id,
        transfer_id=transfer_id,
        reversal_id=body.id if body is not None else None,
        description=body.description if body is not None else None,
    )
    await _audit_transfer(session, subject, "ledger.transfer.reversed", out)
    return out


# --- entries and reports --------------------------------------------------------------------


@router.post(
    "/entries",
    status_code=201,
    response_model=EntryOut,
    responses=problem_responses(400, 404, 409, 422),
)
@idempotent(required_when=lambda body: body.id is None, required_detail=WITHOUT_ID)
async def create_entry(body: EntryCreate, subject: LedgerWrite, session: SessionDep) -> Any:
    """Post a multi-leg entry balanced per currency, all or nothing. Needs `ledger:write`.

    422 `entry_unbalanced`, `insufficient_funds`, `currency_mismatch`.
    """
    entry = await ledger.post_entry(
        session,
        tenant_id=subject.tenant_id,
        entry_id=body.id,
        postings=[Posting(p.account_id, p.direction, p.amount.to_money()) for p in body.postings],
        description=body.description,
        metadata=body.metadata,
    )
    await audit.record(
        session,
        subject=subject,
        action="ledger.entry.posted",
        target_type="ledger_entry",
        target_id=entry.id,
        after={"postings": [p.model_dump(mode="json") for p in entry.postings]},
    )
    return entry


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=problem_responses(404))
async def get_entry(entry_id: TransferId, subject: LedgerRead, session: SessionDep) -> Any:
    """Any entry (transfers too) with its postings. Needs `ledger:read`."""
    return await ledger.get_entry(session, tenant_id=subject.tenant_id, entry_id=entry_id)


@router.get(
    "/reports/trial-balance", response_model=TrialBalanceOut, responses=problem_responses(422)
)
async def trial_balance(
    subject: LedgerRead, session: SessionDep, currency: Annotated[LedgerCurrencyCode, Query()]
) -> Any:
    """Every account in a currency with its debits and credits; Σ debits = Σ credits."""
    return await ledger.trial_balance(session, tenant_id=subject.tenant_id, currency=currency)
