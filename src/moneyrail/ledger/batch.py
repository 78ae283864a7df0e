"""Batches of transfers, set-based: a handful of statements for up to 1,000 transfers.

Validate → look up → lock → decide → write. Before any lock, the batch looks its ids up
and writes its new entries. The touched accounts are then locked once, in id order, and the
transfers applied in order to those locked balances in memory (`rules.LockedAccounts`),
each checked against the balance limits exactly as the single-transfer statement checks
it, so an item that would break a limit fails on its own (or fails the whole batch when
`atomic`). One statement then writes the postings, counters and holds, one more the events
of the transfers created (never an event for an item that failed), and the transaction
commits: the locks are held for that work only. The database's constraints and deferred balance check still verify
what is written.

Entries are append-only, so a transfer that fails under the locks cannot lose an entry
written before them: the attempt is rolled back to its savepoint and the batch runs again
writing its entries under the locks, for the transfers that are then created.

Items stay plain dicts, tuples and column lists rather than models and dataclasses: every
object that lives through a request of this size survives the collector's young
generations, and the full collections they set off cost as much as the batch's own work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import AppError, invariant
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit_many
from moneyrail.ledger import views
from moneyrail.ledger.errors import (
    InvalidTimeout,
    LedgerContention,
    SameAccount,
    TransferExistsWithDifferentFields,
)
from moneyrail.ledger.repository import (
    BatchEntries,
    BatchPostings,
    BatchRaced,
    EntryRow,
    repository,
)
from moneyrail.ledger.rules import LockedAccounts, check_client_id
from moneyrail.ledger.schemas import (
    BatchItemOut,
    BatchItemStatus,
    BatchOut,
    BatchTransferIn,
    TransferCreate,
)

log = structlog.get_logger(__name__)

_DEADLOCK_DETECTED = "40P01"


class _Refused(Exception):
    """An atomic batch with a failed item: its savepoint (events written early) is undone."""

    def __init__(self, out: BatchOut) -> None:
        super().__init__("atomic batch refused")
        self.out = out


class _Withdrawn(Exception):
    """Transfers whose entries were written before the locks failed under them."""


async def transfer_batch(
    session: AsyncSession,
    *,
    tenant_id: str,
    transfers: Sequence[BatchTransferIn | TransferCreate],
    atomic: bool,
) -> BatchOut:
    items: list[Mapping[str, Any]] = [
        transfer.model_dump() if isinstance(transfer, TransferCreate) else transfer
        for transfer in transfers
    ]
    entries_first = True
    for _ in range(limits.serialization_retries_max):
        try:
            async with session.begin_nested():
                return await _attempt(
                    session,
                    tenant_id=tenant_id,
                    items=items,
                    atomic=atomic,
                    entries_first=entries_first,
                )
        except _Refused as refused:
            return refused.out
        except _Withdrawn:
            entries_first = False
        except BatchRaced:
            log.info("ledger.batch_raced", tenant_id=tenant_id)
        except DBAPIError as exc:
            # A batch writing its entries under its locks (after a transfer failed) and one
            # writing the same ids before its locks can wait for each other: PostgreSQL
            # aborts one of them, which runs again.
            if getattr(exc.orig, "sqlstate", None) != _DEADLOCK_DETECTED:
                raise
            log.info("ledger.batch_deadlock", tenant_id=tenant_id)
    raise LedgerContention("concurrent requests keep using this batch's ids; retry")


class _Transfer(NamedTuple):
    """A batch item's transfer: the fields of its entry. A named tuple is built several
    times faster than an `EntryRow` (a frozen dataclass sets each field through
    `object.__setattr__`), and a list of them unzips into the statements' columns."""

    id: str
    pending: bool
    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    timeout_seconds: int | None
    expires_at: datetime | None
    description: str | None
    metadata: dict[str, Any]

    def row(self) -> EntryRow:
        return EntryRow(
            id=self.id,
            kind="transfer",
            pending=self.pending,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            currency=self.currency,
            timeout_seconds=self.timeout_seconds,
            expires_at=self.expires_at,
            description=self.description,
            metadata=self.metadata,
        )


def _transfer(item: Mapping[str, Any], now: datetime) -> _Transfer:
    """The transfer a batch item asks for.

    Raises:
        SameAccount, InvalidTimeout, InvalidLedgerId.
    """
    debit_account_id = item["debit_account_id"]
    credit_account_id = item["credit_account_id"]
    if debit_account_id == credit_account_id:
        raise SameAccount("debit and credit accounts must differ")
    pending = item.get("pending", False)
    timeout = item.get("timeout_seconds")
    if timeout is not None and not pending:
        raise InvalidTimeout("timeout_seconds applies to pending transfers")
    client_id = item.get("id")
    amount = item["amount"]
    return _Transfer(
        check_client_id(client_id) if client_id is not None else new_id("ltr"),
        pending,
        debit_account_id,
        credit_account_id,
        amount["amount"],
        amount["currency"],
        timeout,
        now + timedelta(seconds=timeout) if timeout else None,
        item.get("description"),
        item.get("metadata") or {},
    )


def _event_data(transfer: _Transfer, created_at: str) -> dict[str, Any]:
    """`views.transfer_event` of the transfer's entry (a test holds the two equal), without
    the entry object, and with the batch's `created_at` formatted once."""
    expires_at = transfer.expires_at
    return {
        "id": transfer.id,
        "kind": "transfer",
        "status": "pending" if transfer.pending else "posted",
        "debit_account_id": transfer.debit_account_id,
        "credit_account_id": transfer.credit_account_id,
        "amount": {"amount": transfer.amount, "currency": transfer.currency},
        "posted_amount": None,
        "pending": transfer.pending,
        "timeout_seconds": transfer.timeout_seconds,
        "expires_at": expires_at.isoformat() if expires_at is not None else None,
        "pending_id": None,
        "reverses_id": None,
        "reversed_by": None,
        "resolved_by": None,
        "description": transfer.description,
        "metadata": transfer.metadata,
        "created_at": created_at,
    }


class _Parsed(NamedTuple):
    """The batch's items, validated: a transfer or None (then an error) per item."""

    transfers: list[_Transfer | None]
    errors: dict[int, AppError]
    account_ids: list[str]


class _Known(NamedTuple):
    """What the database holds before the locks: the batch's ids that exist already."""

    existing: dict[str, Any]
    candidates: dict[str, _Transfer]
    created_at: datetime


class _Decision(NamedTuple):
    """Each item's outcome against the locked balances."""

    statuses: list[BatchItemStatus]
    errors: dict[int, AppError]
    created: list[_Transfer]
    balances: list[tuple[int, int]]


async def _attempt(
    session: AsyncSession,
    *,
    tenant_id: str,
    items: list[Mapping[str, Any]],
    atomic: bool,
    entries_first: bool,
) -> BatchOut:
    """One try: validate → look up (and write entries) → lock → decide → write."""
    parsed = _validate(items, datetime.now(UTC))
    known = await _look_up(session, tenant_id=tenant_id, parsed=parsed)
    # New entries do not depend on the balances, so they are written before the locks
    # (entries are append-only: a transfer that then fails rolls the attempt back).
    if entries_first and known.candidates:
        await _insert_entries(session, tenant_id=tenant_id, transfers=[*known.candidates.values()])
    accounts = LockedAccounts(
        await repository.lock_batch_accounts(
            session, tenant_id=tenant_id, account_ids=parsed.account_ids
        )
    )
    decision = _decide(parsed, known, accounts)
    if atomic and decision.errors:
        raise _Refused(
            _out(
                atomic=True,
                applied=False,
                created=0,
                failed=len(decision.errors),
                results=[
                    _result(
                        index,
                        transfer,
                        "failed" if index in decision.errors else "skipped",
                        decision.errors,
                    )
                    for index, transfer in enumerate(parsed.transfers)
                ],
            )
        )
    if entries_first and len(decision.created) < len(known.candidates):
        raise _Withdrawn
    await _write(
        session,
        tenant_id=tenant_id,
        decision=decision,
        accounts=accounts,
        created_at=known.created_at,
        entries_written=entries_first,
    )
    return _out(
        atomic=atomic,
        applied=True,
        created=len(decision.created),
        failed=len(decision.errors),
        results=[
            _result(index, transfer, decision.statuses[index], decision.errors)
            for index, transfer in enumerate(parsed.transfers)
        ],
    )


def _validate(items: list[Mapping[str, Any]], now: datetime) -> _Parsed:
    transfers: list[_Transfer | None] = []
    errors: dict[int, AppError] = {}
    account_ids: set[str] = set()
    for index, item in enumerate(items):
        try:
            transfers.append(_transfer(item, now))
        except AppError as exc:
            transfers.append(None)
            errors[index] = exc
            continue
        account_ids.add(item["debit_account_id"])
        account_ids.add(item["credit_account_id"])
    return _Parsed(transfers, errors, sorted(account_ids))


async def _look_up(session: AsyncSession, *, tenant_id: str, parsed: _Parsed) -> _Known:
    """The batch's ids that exist, read before locking to hold the locks for less time; an
    id that a concurrent request commits meanwhile fails the insert of the entries
    (`BatchRaced`), and the batch is retried."""
    existing_ids, created_at = await repository.batch_lookup(
        session,
        tenant_id=tenant_id,
        entry_ids=[transfer.id for transfer in parsed.transfers if transfer is not None],
    )
    existing = (
        await repository.entries_by_ids(
            session, tenant_id=tenant_id, entry_ids=sorted(existing_ids)
        )
        if existing_ids
        else {}
    )
    candidates: dict[str, _Transfer] = {}
    for candidate in parsed.transfers:
        if candidate is not None and candidate.id not in existing_ids:
            candidates.setdefault(candidate.id, candidate)
    return _Known(existing, candidates, created_at)


def _decide(parsed: _Parsed, known: _Known, accounts: LockedAccounts) -> _Decision:
    """Apply the transfers in order to the locked balances, in memory."""
    transfers = parsed.transfers
    errors = dict(parsed.errors)
    statuses: list[BatchItemStatus] = ["failed"] * len(transfers)
    created: list[_Transfer] = []
    balances: list[tuple[int, int]] = []
    first: dict[str, int] = {}
    for index, transfer in enumerate(transfers):
        if transfer is None:
            continue
        earlier = first.setdefault(transfer.id, index)
        if earlier != index:
            if transfers[earlier] == transfer:
                status = statuses[earlier]
                statuses[index] = "exists" if status == "created" else status
                if earlier in errors:
                    errors[index] = errors[earlier]
            else:
                errors[index] = TransferExistsWithDifferentFields(
                    f"transfer {transfer.id!r} appears twice with different fields"
                )
        elif transfer.id in known.existing:
            if views.same_transfer(known.existing[transfer.id], transfer.row()):
                statuses[index] = "exists"
            else:
                errors[index] = TransferExistsWithDifferentFields(
                    f"transfer {transfer.id!r} exists with different fields"
                )
        else:
            try:
                balances.append(
                    accounts.transfer(
                        transfer.debit_account_id,
                        transfer.credit_account_id,
                        transfer.amount,
                        transfer.currency,
                        pending=transfer.pending,
                    )
                )
            except AppError as exc:
                errors[index] = exc
                continue
            statuses[index] = "created"
            created.append(transfer)
    return _Decision(statuses, errors, created, balances)


async def _write(
    session: AsyncSession,
    *,
    tenant_id: str,
    decision: _Decision,
    accounts: LockedAccounts,
    created_at: datetime,
    entries_written: bool,
) -> None:
    """Entries (unless written before the locks), postings with counters and holds, and
    one event per created transfer — only now that each outcome is known."""
    created = decision.created
    if not created:
        return
    if not entries_written:
        await _insert_entries(session, tenant_id=tenant_id, transfers=created)
    written = await repository.write_batch_postings(
        session, tenant_id=tenant_id, postings=_postings(created, decision.balances, accounts)
    )
    invariant(written == 2 * len(created), "a batch transfer has two postings")
    created_at_text = created_at.isoformat()
    await emit_many(
        session,
        tenant_id=tenant_id,
        events=[
            (
                "transfer.pending" if transfer.pending else "transfer.posted",
                _event_data(transfer, created_at_text),
            )
            for transfer in created
        ],
    )


async def _insert_entries(
    session: AsyncSession, *, tenant_id: str, transfers: list[_Transfer]
) -> None:
    (
        ids,
        pending,
        debits,
        credits,
        amounts,
        currencies,
        timeouts,
        expires,
        descriptions,
        metadata,
    ) = zip(*transfers, strict=True)
    inserted = await repository.insert_batch_entries(
        session,
        tenant_id=tenant_id,
        entries=BatchEntries(
            ids=ids,
            pending=pending,
            debits=debits,
            credits=credits,
            amounts=amounts,
            currencies=currencies,
            timeouts=timeouts,
            expires=expires,
            descriptions=descriptions,
            metadata=[json.dumps(value) if value else "{}" for value in metadata],
        ),
    )
    invariant(inserted == len(transfers), "every new entry of a batch is inserted")


def _postings(
    created: list[_Transfer], balances: list[tuple[int, int]], accounts: LockedAccounts
) -> BatchPostings:
    ids, pending, debits, credits, amounts, currencies, _, expires, _, _ = zip(
        *created, strict=True
    )
    debit_after, credit_after = zip(*balances, strict=True)
    account_ids, posted_debits, posted_credits, pending_debits, pending_credits = accounts.changed()
    return BatchPostings(
        ids=ids,
        pending=pending,
        debits=debits,
        credits=credits,
        amounts=amounts,
        currencies=currencies,
        expires=expires,
        debit_after=debit_after,
        credit_after=credit_after,
        account_ids=account_ids,
        posted_debits=posted_debits,
        posted_credits=posted_credits,
        pending_debits=pending_debits,
        pending_credits=pending_credits,
    )


def _error_body(error: AppError) -> dict[str, Any]:
    return {"code": error.code, "status": error.status, "detail": error.detail, **error.extra}


def _result(
    index: int, transfer: _Transfer | None, status: BatchItemStatus, errors: dict[int, AppError]
) -> BatchItemOut:
    error = errors.get(index)
    return {
        "index": index,
        "id": transfer.id if transfer is not None else None,
        "status": status,
        "error": _error_body(error) if error is not None else None,
    }


def _out(
    *, atomic: bool, applied: bool, created: int, failed: int, results: list[BatchItemOut]
) -> BatchOut:
    # Built from values this module produced, so without re-validating a thousand items.
    return BatchOut.model_construct(
        atomic=atomic, applied=applied, created=created, failed=failed, results=results
    )
