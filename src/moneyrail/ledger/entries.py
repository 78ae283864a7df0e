"""Multi-leg entries: any number of postings, balanced per currency, all or none."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit
from moneyrail.ledger import views
from moneyrail.ledger.errors import (
    EntryUnbalanced,
    InvalidAmount,
    SameAccount,
    TransferExistsWithDifferentFields,
    TransferNotFound,
)
from moneyrail.ledger.repository import EntryRow, Leg, repository
from moneyrail.ledger.rules import check_client_id, deltas_of, refusal
from moneyrail.ledger.schemas import EntryOut
from moneyrail.ledger.types import Direction, Posting


def legs_of(postings: list[Posting]) -> list[Leg]:
    """Validate postings into legs.

    Raises:
        EntryUnbalanced: too few or too many postings, or debits ≠ credits in a currency.
        InvalidAmount: a posting amount is not positive.
        SameAccount: one account is both debited and credited.
    """
    if not 2 <= len(postings) <= limits.ledger_entry_postings_max:
        raise EntryUnbalanced(f"an entry has 2 to {limits.ledger_entry_postings_max} postings")
    sums: dict[str, int] = defaultdict(int)
    legs: list[Leg] = []
    for posting in postings:
        if posting.amount.amount <= 0:
            raise InvalidAmount("posting amounts are positive")
        direction = Direction(posting.direction)
        sums[posting.amount.currency] += (
            posting.amount.amount if direction == Direction.debit else -posting.amount.amount
        )
        legs.append(
            Leg(
                posting.account_id,
                direction.value,
                "posted",
                posting.amount.amount,
                posting.amount.currency,
            )
        )
    directions: dict[str, set[str]] = defaultdict(set)
    for leg in legs:
        directions[leg.account_id].add(leg.direction)
    both = sorted(account for account, seen in directions.items() if len(seen) == 2)
    if both:
        raise SameAccount(
            "an entry may not debit and credit one account", extra={"account_ids": both}
        )
    unbalanced = sorted(currency for currency, total in sums.items() if total != 0)
    if unbalanced:
        raise EntryUnbalanced(
            f"debits and credits differ in {', '.join(unbalanced)}",
            extra={"currencies": unbalanced},
        )
    return legs


async def post_entry(
    session: AsyncSession,
    *,
    tenant_id: str,
    entry_id: str | None,
    postings: list[Posting],
    description: str | None,
    metadata: dict[str, Any] | None,
) -> EntryOut:
    legs = legs_of(postings)
    entry = EntryRow(
        id=check_client_id(entry_id) if entry_id is not None else new_id("lent"),
        kind="entry",
        description=description,
        metadata=metadata or {},
    )
    result = await repository.apply(
        session, tenant_id=tenant_id, entry=entry, legs=legs, deltas=deltas_of(legs)
    )
    if result.inserted:
        out = await get_entry(session, tenant_id=tenant_id, entry_id=entry.id)
        await emit(
            session, tenant_id=tenant_id, type="entry.posted", data=out.model_dump(mode="json")
        )
        return out
    existing = await repository.entry(session, tenant_id=tenant_id, entry_id=entry.id)
    if existing is None:
        raise refusal(result, expected=len({leg.account_id for leg in legs}))
    stored = await repository.postings_of(session, tenant_id=tenant_id, entry_id=entry.id)
    same_legs = [(p.account_id, p.direction, p.effect, p.amount, p.currency) for p in stored] == [
        (leg.account_id, leg.direction, leg.effect, leg.amount, leg.currency) for leg in legs
    ]
    if not (same_legs and views.same_transfer(existing, entry)):
        raise TransferExistsWithDifferentFields(f"entry {entry.id!r} exists with different fields")
    return views.entry_view(existing, stored)


async def get_entry(session: AsyncSession, *, tenant_id: str, entry_id: str) -> EntryOut:
    entry = await repository.entry(session, tenant_id=tenant_id, entry_id=entry_id)
    if entry is None:
        raise TransferNotFound(f"no entry {entry_id!r}")
    postings = await repository.postings_of(session, tenant_id=tenant_id, entry_id=entry_id)
    return views.entry_view(entry, postings)
