"""Reads: an account's postings with running balances, and the trial balance."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.money import LedgerMoneyModel, Money
from moneyrail.core.pagination import InvalidCursor, PageParams, decode_cursor, encode_cursor
from moneyrail.ledger.errors import AccountNotFound
from moneyrail.ledger.repository import repository
from moneyrail.ledger.schemas import AccountEntryOut, TrialBalanceLine, TrialBalanceOut
from moneyrail.ledger.types import AccountKind, Direction
from moneyrail.ledger.views import balances_of


async def account_entries(
    session: AsyncSession, *, tenant_id: str, account_id: str, page: PageParams
) -> tuple[list[AccountEntryOut], str | None]:
    """Newest first, each with the account's posted balance after it."""
    account = await repository.account(session, tenant_id=tenant_id, account_id=account_id)
    if account is None:
        raise AccountNotFound(f"no ledger account {account_id!r}")
    before: int | None = None
    if page.cursor is not None:
        decoded = decode_cursor(page.cursor)
        if not isinstance(decoded, int) or isinstance(decoded, bool):
            raise InvalidCursor("the cursor is malformed; use next_cursor from a previous page")
        before = decoded
    rows = await repository.account_postings(
        session, tenant_id=tenant_id, account_id=account_id, before_seq=before, limit=page.limit
    )
    items = [
        AccountEntryOut(
            seq=posting.seq,
            entry_id=posting.entry_id,
            leg=posting.leg,
            direction=Direction(posting.direction),
            effect=posting.effect,
            amount=LedgerMoneyModel(amount=posting.amount, currency=posting.currency),
            balance_after=posting.balance_after,
            description=description,
            created_at=posting.created_at,
        )
        for posting, description in rows[: page.limit]
    ]
    next_cursor = encode_cursor(items[-1].seq) if len(rows) > page.limit and items else None
    return items, next_cursor


async def trial_balance(session: AsyncSession, *, tenant_id: str, currency: str) -> TrialBalanceOut:
    """Every account in `currency` with its posted debits and credits; they must be equal."""
    Money(0, currency)
    lines = []
    for account in await repository.trial_balance(session, tenant_id=tenant_id, currency=currency):
        lines.append(
            TrialBalanceLine(
                account_id=account.id,
                code=account.code,
                name=account.name,
                kind=AccountKind(account.kind),
                debits=account.posted_debits,
                credits=account.posted_credits,
                balance=balances_of(account).posted,
            )
        )
    total_debits = sum(line.debits for line in lines)
    total_credits = sum(line.credits for line in lines)
    return TrialBalanceOut(
        currency=currency,
        lines=lines,
        total_debits=total_debits,
        total_credits=total_credits,
        balanced=total_debits == total_credits,
    )
