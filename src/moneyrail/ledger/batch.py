"""Batches of transfers, set-based: a handful of statements for up to 1,000 transfers.

The touched accounts are locked once, in id order; the transfers are then applied in order
to those locked balances in memory, each checked against the balance limits exactly as the
single-transfer statement checks it, so an item that would break a limit fails on its own
(or fails the whole batch when `atomic`). The successful items are written with one insert
of entries, one update per account, one insert of postings and one insert of outbox events.
The database's constraints and deferred balance check still verify what is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import AppError
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit_many
from moneyrail.ledger import views
from moneyrail.ledger.errors import (
    AccountNotFound,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidTimeout,
    LedgerContention,
    SameAccount,
    TransferExistsWithDifferentFields,
)
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.repository import EntryRow, repository
from moneyrail.ledger.rules import AccountState, check_client_id
from moneyrail.ledger.schemas import BatchItemOut, BatchItemStatus, BatchOut, TransferCreate

log = structlog.get_logger(__name__)


class _Raced(Exception):
    """A concurrent request inserted one of the batch's ids after the batch looked."""


class _Refused(Exception):
    """An atomic batch with a failed item: its savepoint (events written early) is undone."""

    def __init__(self, out: BatchOut) -> None:
        super().__init__("atomic batch refused")
        self.out = out


@dataclass
class _Item:
    index: int
    entry: EntryRow | None = None
    status: BatchItemStatus = "failed"
    error: AppError | None = None
    legs: list[tuple[str, str, str, int, int]] = field(default_factory=list)


def _error_body(error: AppError) -> dict[str, Any]:
    return {"code": error.code, "status": error.status, "detail": error.detail, **error.extra}


def _prepare(index: int, request: TransferCreate, now: datetime) -> _Item:
    item = _Item(index=index)
    try:
        if request.debit_account_id == request.credit_account_id:
            raise SameAccount("debit and credit accounts must differ")
        if request.timeout_seconds is not None and not request.pending:
            raise InvalidTimeout("timeout_seconds applies to pending transfers")
        timeout = request.timeout_seconds
        item.entry = EntryRow(
            id=check_client_id(request.id) if request.id is not None else new_id("ltr"),
            kind="transfer",
            pending=request.pending,
            debit_account_id=request.debit_account_id,
            credit_account_id=request.credit_account_id,
            amount=request.amount.amount,
            currency=request.amount.currency,
            timeout_seconds=timeout,
            expires_at=now + timedelta(seconds=timeout) if timeout else None,
            description=request.description,
            metadata=request.metadata or {},
        )
    except AppError as exc:
        item.error = exc
    return item


def _apply_in_memory(item: _Item, accounts: dict[str, AccountState]) -> None:
    """Apply one transfer to the locked balances, or record why it cannot be applied."""
    entry = item.entry
    assert entry is not None and entry.amount is not None and entry.currency is not None
    assert entry.debit_account_id is not None and entry.credit_account_id is not None
    debit = accounts.get(entry.debit_account_id)
    credit = accounts.get(entry.credit_account_id)
    if debit is None or credit is None:
        item.error = AccountNotFound("a ledger account of this transfer does not exist")
        return
    mismatched = [a.id for a in (debit, credit) if a.currency != entry.currency]
    if mismatched:
        item.error = CurrencyMismatch(
            "the amount's currency differs from the account's",
            extra={"account_ids": mismatched},
        )
        return
    amount = entry.amount
    if entry.pending:
        debit_delta, credit_delta = (0, 0, amount, 0), (0, 0, 0, amount)
    else:
        debit_delta, credit_delta = (amount, 0, 0, 0), (0, amount, 0, 0)
    short = [a.id for a, d in ((debit, debit_delta), (credit, credit_delta)) if not a.allows(*d)]
    if short:
        item.error = InsufficientFunds(
            "the transfer would take an account below its balance limit",
            extra={"account_ids": short},
        )
        return
    debit.add(*debit_delta)
    credit.add(*credit_delta)
    effect = "pending" if entry.pending else "posted"
    item.legs = [
        (debit.id, "debit", effect, amount, debit.posted_normal),
        (credit.id, "credit", effect, amount, credit.posted_normal),
    ]
    item.status = "created"


def _existing(item: _Item, existing: LedgerEntry) -> None:
    assert item.entry is not None
    if views.same_transfer(existing, item.entry):
        item.status = "exists"
    else:
        item.error = TransferExistsWithDifferentFields(
            f"transfer {item.entry.id!r} exists with different fields"
        )


async def transfer_batch(
    session: AsyncSession, *, tenant_id: str, transfers: list[TransferCreate], atomic: bool
) -> BatchOut:
    for _ in range(limits.serialization_retries_max):
        try:
            async with session.begin_nested():
                return await _attempt(
                    session, tenant_id=tenant_id, transfers=transfers, atomic=atomic
                )
        except _Refused as refused:
            return refused.out
        except _Raced:
            log.info("ledger.batch_raced", tenant_id=tenant_id)
    raise LedgerContention("concurrent requests keep using this batch's ids; retry")


async def _attempt(
    session: AsyncSession, *, tenant_id: str, transfers: list[TransferCreate], atomic: bool
) -> BatchOut:
    now = datetime.now(UTC)
    items = [_prepare(index, request, now) for index, request in enumerate(transfers)]
    valid = [item for item in items if item.entry is not None]
    account_ids = {
        account_id
        for item in valid
        for account_id in (item.entry.debit_account_id, item.entry.credit_account_id)  # type: ignore[union-attr]
        if account_id is not None
    }
    # Read before locking, to hold the locks for less time; an id that a concurrent request
    # commits meanwhile makes the insert below come up short, and the batch is retried.
    existing, created_at = await repository.entries_by_ids(
        session,
        tenant_id=tenant_id,
        entry_ids=[item.entry.id for item in valid],  # type: ignore[union-attr]
    )
    # The events of every transfer that may be created are written before the locks too
    # (their rows do not depend on the balances); those of items that fail are deleted.
    candidates: dict[str, EntryRow] = {}
    for item in valid:
        assert item.entry is not None
        if item.entry.id not in existing:
            candidates.setdefault(item.entry.id, item.entry)
    emitted_after = datetime.now(UTC)
    await emit_many(
        session,
        tenant_id=tenant_id,
        events=[
            (
                "transfer.pending" if entry.pending else "transfer.posted",
                views.transfer_event(entry, created_at=created_at),
            )
            for entry in candidates.values()
        ],
    )
    accounts = {
        row.id: AccountState.of(row)
        for row in await repository.lock_accounts(
            session, tenant_id=tenant_id, account_ids=sorted(account_ids)
        )
    }
    first_of: dict[str, _Item] = {}
    for item in valid:
        assert item.entry is not None
        earlier = first_of.setdefault(item.entry.id, item)
        if earlier is not item:
            assert earlier.entry is not None
            if earlier.entry == item.entry:
                item.status, item.error = earlier.status, earlier.error
                if item.status == "created":
                    item.status = "exists"
            else:
                item.error = TransferExistsWithDifferentFields(
                    f"transfer {item.entry.id!r} appears twice with different fields"
                )
        elif item.entry.id in existing:
            _existing(item, existing[item.entry.id])
        else:
            _apply_in_memory(item, accounts)

    failed = [item for item in items if item.error is not None]
    created = [item for item in items if item.status == "created"]
    if atomic and failed:
        raise _Refused(
            _out(
                atomic=True,
                applied=False,
                created=0,
                failed=len(failed),
                results=[_result(item, skipped=item.error is None) for item in items],
            )
        )
    created_ids = {item.entry.id for item in created if item.entry is not None}
    withdrawn = [entry_id for entry_id in candidates if entry_id not in created_ids]
    if withdrawn:
        await repository.delete_transfer_events(
            session, tenant_id=tenant_id, transfer_ids=withdrawn, since=emitted_after
        )
    if created:
        entries = [item.entry for item in created if item.entry is not None]
        inserted = await repository.insert_entries(session, tenant_id=tenant_id, entries=entries)
        if inserted != len(entries):
            raise _Raced
        touched = [account for account in accounts.values() if account.changed]
        await repository.store_counters(session, tenant_id=tenant_id, accounts=touched)
        await repository.insert_batch_postings(
            session,
            tenant_id=tenant_id,
            postings=[
                (item.entry.id, item.entry.currency or "", item.legs)
                for item in created
                if item.entry is not None
            ],
        )
        await repository.insert_holds(session, tenant_id=tenant_id, entries=entries)
    return _out(
        atomic=atomic,
        applied=True,
        created=len(created),
        failed=len(failed),
        results=[_result(item) for item in items],
    )


def _result(item: _Item, *, skipped: bool = False) -> BatchItemOut:
    return {
        "index": item.index,
        "id": item.entry.id if item.entry is not None else None,
        "status": "skipped" if skipped else item.status,
        "error": _error_body(item.error) if item.error is not None else None,
    }


def _out(
    *, atomic: bool, applied: bool, created: int, failed: int, results: list[BatchItemOut]
) -> BatchOut:
    # Built from values this module produced, so without re-validating a thousand items.
    return BatchOut.model_construct(
        atomic=atomic, applied=applied, created=created, failed=failed, results=results
    )
