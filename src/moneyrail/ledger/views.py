"""Rows to the ledger's output models, and the pure rules that derive a transfer's status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moneyrail.core.money import LedgerMoneyModel
from moneyrail.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting
from moneyrail.ledger.repository import EntryRow
from moneyrail.ledger.schemas import (
    BalanceLimitModel,
    BalancesOut,
    EntryOut,
    LedgerAccountOut,
    PostingOut,
    TransferOut,
    TransferStatus,
)
from moneyrail.ledger.types import AccountKind, BalanceLimit, Balances, Direction

_RESOLVED_STATUS: dict[str, TransferStatus] = {
    "post_pending": "posted",
    "void_pending": "voided",
    "expire_pending": "expired",
}


def balances_of(account: LedgerAccount) -> Balances:
    return Balances.of(
        currency=account.currency,
        debit_normal=account.debit_normal,
        posted_debits=account.posted_debits,
        posted_credits=account.posted_credits,
        pending_debits=account.pending_debits,
        pending_credits=account.pending_credits,
    )


def account_view(account: LedgerAccount) -> LedgerAccountOut:
    balances = balances_of(account)
    limit = BalanceLimit.from_floor(account.limit_floor, type_=account.limit_type)
    return LedgerAccountOut(
        id=account.id,
        code=account.code,
        name=account.name,
        currency=account.currency,
        kind=AccountKind(account.kind),
        balance_limit=BalanceLimitModel.of(limit),
        posted=balances.posted,
        pending=balances.pending,
        available=balances.available,
        balances=BalancesOut.of(balances),
        metadata=account.metadata_ or {},
        created_at=account.created_at,
    )


def status_of(entry: LedgerEntry | EntryRow, resolution: LedgerEntry | None) -> TransferStatus:
    if entry.kind == "transfer" and entry.pending:
        return "pending" if resolution is None else _RESOLVED_STATUS[resolution.kind]
    return "posted"


def transfer_view(
    entry: LedgerEntry | EntryRow,
    *,
    created_at: datetime,
    resolution: LedgerEntry | None = None,
    reversal: LedgerEntry | None = None,
) -> TransferOut:
    assert entry.debit_account_id is not None and entry.credit_account_id is not None
    assert entry.amount is not None and entry.currency is not None
    posted_amount = None
    if resolution is not None and resolution.kind == "post_pending":
        assert resolution.amount is not None
        posted_amount = LedgerMoneyModel(amount=resolution.amount, currency=entry.currency)
    return TransferOut(
        id=entry.id,
        kind=entry.kind,
        status=status_of(entry, resolution),
        debit_account_id=entry.debit_account_id,
        credit_account_id=entry.credit_account_id,
        amount=LedgerMoneyModel(amount=entry.amount, currency=entry.currency),
        posted_amount=posted_amount,
        pending=entry.pending,
        timeout_seconds=entry.timeout_seconds,
        expires_at=entry.expires_at,
        pending_id=entry.pending_id,
        reverses_id=entry.reverses_id,
        reversed_by=reversal.id if reversal is not None else None,
        resolved_by=resolution.id if resolution is not None else None,
        description=entry.description,
        metadata=entry.metadata or {} if isinstance(entry, EntryRow) else entry.metadata_ or {},
        created_at=created_at,
    )


def entry_view(entry: LedgerEntry, postings: list[LedgerPosting]) -> EntryOut:
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        postings=[
            PostingOut(
                account_id=p.account_id,
                direction=Direction(p.direction),
                effect=p.effect,
                amount=LedgerMoneyModel(amount=p.amount, currency=p.currency),
            )
            for p in postings
        ],
        description=entry.description,
        metadata=entry.metadata_ or {},
        created_at=entry.created_at,
    )


def same_transfer(existing: LedgerEntry, wanted: EntryRow) -> bool:
    """Whether a stored entry carries exactly the fields a retried request asks for."""
    return (
        existing.kind == wanted.kind
        and existing.pending == wanted.pending
        and existing.debit_account_id == wanted.debit_account_id
        and existing.credit_account_id == wanted.credit_account_id
        and existing.amount == wanted.amount
        and existing.currency == wanted.currency
        and existing.pending_id == wanted.pending_id
        and existing.reverses_id == wanted.reverses_id
        and existing.timeout_seconds == wanted.timeout_seconds
        and existing.description == wanted.description
        and (existing.metadata_ or {}) == (wanted.metadata or {})
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def transfer_event(entry: EntryRow, *, created_at: datetime) -> dict[str, Any]:
    """The outbox payload of a new transfer: the `TransferOut` fields, built without a model."""
    assert entry.amount is not None and entry.currency is not None
    return {
        "id": entry.id,
        "kind": entry.kind,
        "status": "pending" if entry.pending else "posted",
        "debit_account_id": entry.debit_account_id,
        "credit_account_id": entry.credit_account_id,
        "amount": {"amount": entry.amount, "currency": entry.currency},
        "posted_amount": None,
        "pending": entry.pending,
        "timeout_seconds": entry.timeout_seconds,
        "expires_at": _iso(entry.expires_at),
        "pending_id": entry.pending_id,
        "reverses_id": entry.reverses_id,
        "reversed_by": None,
        "resolved_by": None,
        "description": entry.description,
        "metadata": entry.metadata or {},
        "created_at": _iso(created_at),
    }
