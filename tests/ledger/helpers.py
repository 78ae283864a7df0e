"""Helpers shared by the ledger tests."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import set_tenant
from moneyrail.core.money import Money
from moneyrail.ledger.repository import repository
from moneyrail.ledger.schemas import LedgerAccountOut
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit


async def open_account(
    session: AsyncSession,
    tenant_id: str,
    *,
    kind: AccountKind = AccountKind.liability,
    limit: BalanceLimit = BalanceLimit.non_negative(),
    currency: str = "INR",
    code: str | None = None,
) -> LedgerAccountOut:
    return await ledger.create_account(
        session,
        tenant_id=tenant_id,
        code=code or f"acct:{uuid.uuid4().hex[:10]}",
        name="Test account",
        currency=currency,
        kind=kind,
        balance_limit=limit,
    )


async def fund(
    session: AsyncSession, tenant_id: str, account_id: str, amount: int, currency: str = "INR"
) -> None:
    """Credit a liability account from the vault (an asset with no limit)."""
    vault = await ledger.system_account(
        session,
        tenant_id=tenant_id,
        code=f"cash:vault:{currency}",
        name="Vault",
        currency=currency,
        kind=AccountKind.asset,
    )
    await ledger.transfer(
        session,
        tenant_id=tenant_id,
        debit_account_id=vault.id,
        credit_account_id=account_id,
        amount=Money(amount, currency),
    )


async def assert_cached_match_postings(session: AsyncSession, tenant_id: str) -> None:
    """Every account's cached counters equal the sums of its postings."""
    await set_tenant(session, tenant_id)
    sums = await repository.posting_sums(session, tenant_id=tenant_id)
    from sqlalchemy import select

    from moneyrail.ledger.models import LedgerAccount

    accounts = (
        await session.execute(select(LedgerAccount).where(LedgerAccount.tenant_id == tenant_id))
    ).scalars()
    for account in accounts:
        cached = (
            account.posted_debits,
            account.posted_credits,
            account.pending_debits,
            account.pending_credits,
        )
        assert cached == sums.get(account.id, (0, 0, 0, 0)), account.id
