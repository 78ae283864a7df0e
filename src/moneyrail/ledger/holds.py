"""Two-phase transfers (post, void, expire a hold) and reversals.

A hold's resolution is its own entry whose `pending_id` names the hold; a unique index
lets a hold be resolved once, so a concurrent post and void cannot both succeed. The
resolution releases the whole reservation and, when posting, posts the chosen amount.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import invariant
from moneyrail.core.money import CurrencyMismatch, InvalidAmount, Money
from moneyrail.core.outbox import emit
from moneyrail.ledger import views
from moneyrail.ledger.errors import (
    PendingAlreadyPosted,
    PendingExpired,
    PostAmountExceedsPending,
    TransferAlreadyReversed,
    TransferExistsWithDifferentFields,
    TransferNotFound,
    TransferNotPending,
    TransferNotReversible,
)
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.repository import EntryRow, Leg, repository
from moneyrail.ledger.rules import check_client_id, deltas_of, refusal, resolution_error
from moneyrail.ledger.schemas import TransferOut

log = structlog.get_logger(__name__)

_SUFFIX = {"post_pending": "post", "void_pending": "void", "expire_pending": "expire"}
_EVENT = {
    "post_pending": "hold.posted",
    "void_pending": "hold.voided",
    "expire_pending": "hold.voided",
}
# Attempts at resolving a hold: the second sees the resolution a concurrent request wrote.
_RESOLVE_ATTEMPTS = 2


def _settled(
    pending: LedgerEntry,
    resolution: LedgerEntry,
    reversal: LedgerEntry | None,
    *,
    kind: str,
    requested: int | None,
) -> TransferOut:
    """A request on a hold that is already resolved: the same request again is a no-op."""
    view = views.transfer_view(
        pending, created_at=pending.created_at, resolution=resolution, reversal=reversal
    )
    if kind == "expire_pending":
        return view
    if kind == "post_pending" and resolution.kind == "post_pending":
        # A pending transfer resolves once: after a partial post the rest was released, so
        # "post it all" (no amount) is only a replay when the whole hold was posted.
        if (requested if requested is not None else pending.amount) == resolution.amount:
            return view
        raise PendingAlreadyPosted(
            f"the hold was already posted for {resolution.amount}", extra={"transfer": view.id}
        )
    if kind == "void_pending" and resolution.kind in ("void_pending", "expire_pending"):
        return view
    raise resolution_error(resolution)


async def resolve_hold(
    session: AsyncSession,
    *,
    tenant_id: str,
    transfer_id: str,
    kind: str,
    amount: Money | None = None,
) -> TransferOut:
    for _ in range(_RESOLVE_ATTEMPTS):
        found = await repository.entry_with_links(
            session, tenant_id=tenant_id, entry_id=transfer_id
        )
        if found is None:
            raise TransferNotFound(f"no transfer {transfer_id!r}")
        pending, resolution, reversal = found
        if pending.kind != "transfer" or not pending.pending:
            raise TransferNotPending(f"transfer {transfer_id!r} is not a pending transfer")
        assert pending.amount is not None and pending.currency is not None
        assert pending.debit_account_id is not None and pending.credit_account_id is not None
        if resolution is not None:
            return _settled(
                pending,
                resolution,
                reversal,
                kind=kind,
                requested=amount.amount if amount is not None else None,
            )
        posted = 0
        if kind == "post_pending":
            posted = pending.amount
            if amount is not None:
                if amount.currency != pending.currency:
                    raise CurrencyMismatch(f"the hold is in {pending.currency}")
                if amount.amount <= 0:
                    raise InvalidAmount("the amount to post is positive")
                if amount.amount > pending.amount:
                    raise PostAmountExceedsPending(f"the hold is for {pending.amount} only")
                posted = amount.amount
            if pending.expires_at is not None and pending.expires_at <= datetime.now(UTC):
                raise PendingExpired("the hold's timeout has passed")
        row = EntryRow(
            id=f"{pending.id}#{_SUFFIX[kind]}",
            kind=kind,
            debit_account_id=pending.debit_account_id,
            credit_account_id=pending.credit_account_id,
            amount=posted or pending.amount,
            currency=pending.currency,
            pending_id=pending.id,
        )
        legs = [
            Leg(pending.debit_account_id, "debit", "release", pending.amount, pending.currency),
            Leg(pending.credit_account_id, "credit", "release", pending.amount, pending.currency),
        ]
        if posted:
            legs += [
                Leg(pending.debit_account_id, "debit", "posted", posted, pending.currency),
                Leg(pending.credit_account_id, "credit", "posted", posted, pending.currency),
            ]
        result = await repository.apply(
            session,
            tenant_id=tenant_id,
            entry=row,
            legs=legs,
            deltas=deltas_of(legs),
            release_hold_id=pending.id,
        )
        if not result.ok:
            raise refusal(result, expected=2)
        if result.inserted:
            assert result.created_at is not None
            resolved = LedgerEntry(
                id=row.id, kind=kind, amount=row.amount, created_at=result.created_at
            )
            view = views.transfer_view(
                pending, created_at=pending.created_at, resolution=resolved, reversal=reversal
            )
            data = view.model_dump(mode="json")
            if kind == "expire_pending":
                data["reason"] = "expired"
            await emit(session, tenant_id=tenant_id, type=_EVENT[kind], data=data)
            return view
        # Another request resolved the hold meanwhile: read its resolution and answer again.
    invariant(False, "a hold's resolution conflicted without a stored resolution")
    raise AssertionError("unreachable")


async def reverse_transfer(
    session: AsyncSession,
    *,
    tenant_id: str,
    transfer_id: str,
    reversal_id: str | None,
    description: str | None,
) -> TransferOut:
    if reversal_id is not None:
        check_client_id(reversal_id)
    found = await repository.entry_with_links(session, tenant_id=tenant_id, entry_id=transfer_id)
    if found is None:
        raise TransferNotFound(f"no transfer {transfer_id!r}")
    entry, resolution, reversal = found
    if reversal is not None:
        return _reversed(reversal, reversal_id)
    if entry.kind == "transfer" and not entry.pending:
        amount = entry.amount
    elif entry.kind == "transfer" and resolution is not None and resolution.kind == "post_pending":
        amount = resolution.amount
    else:
        raise TransferNotReversible(
            "only posted transfers (and posted holds) can be reversed; void a pending hold"
        )
    row = EntryRow(
        id=reversal_id or f"{entry.id}#reversal",
        kind="reversal",
        debit_account_id=entry.credit_account_id,
        credit_account_id=entry.debit_account_id,
        amount=amount,
        currency=entry.currency,
        reverses_id=entry.id,
        description=description or f"Reversal of {entry.id}",
    )
    assert row.debit_account_id and row.credit_account_id and amount and row.currency
    legs = [
        Leg(row.debit_account_id, "debit", "posted", amount, row.currency),
        Leg(row.credit_account_id, "credit", "posted", amount, row.currency),
    ]
    result = await repository.apply(
        session, tenant_id=tenant_id, entry=row, legs=legs, deltas=deltas_of(legs)
    )
    if result.inserted:
        assert result.created_at is not None
        view = views.transfer_view(row, created_at=result.created_at)
        await emit(
            session,
            tenant_id=tenant_id,
            type="transfer.reversed",
            data=view.model_dump(mode="json"),
        )
        return view
    again = await repository.entry_with_links(session, tenant_id=tenant_id, entry_id=transfer_id)
    if again is not None and again[2] is not None:
        return _reversed(again[2], reversal_id)
    if await repository.entry(session, tenant_id=tenant_id, entry_id=row.id) is not None:
        raise TransferExistsWithDifferentFields(f"an entry {row.id!r} exists")
    raise refusal(result, expected=2)


def _reversed(reversal: LedgerEntry, reversal_id: str | None) -> TransferOut:
    if reversal_id is not None and reversal.id != reversal_id:
        raise TransferAlreadyReversed(f"the transfer was already reversed by {reversal.id!r}")
    return views.transfer_view(reversal, created_at=reversal.created_at)


async def expire_pending(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Void up to `ledger_expire_batch_size_max` holds whose timeout passed, across tenants.

    The caller's session must bypass tenant scope (a platform job). A hold that a
    concurrent request posts or voids meanwhile keeps that resolution.
    """
    moment = now or datetime.now(UTC)
    claimed = await repository.expired_holds(
        session, now=moment, limit=limits.ledger_expire_batch_size_max
    )
    for tenant_id, transfer_id in claimed:
        await resolve_hold(
            session, tenant_id=tenant_id, transfer_id=transfer_id, kind="expire_pending"
        )
    if claimed:
        log.info("ledger.holds_expired", count=len(claimed))
    return len(claimed)
