"""The ledger service on a real database (each test rolled back)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.models import OutboxEvent
from moneyrail.core.money import CurrencyMismatch, Money
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.schemas import LedgerAccountOut, TransferOut
from moneyrail.ledger.service import (
    AccountCodeExists,
    AccountNotFound,
    EntryUnbalanced,
    InsufficientFunds,
    InvalidLedgerId,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PostAmountExceedsPending,
    SameAccount,
    TransferAlreadyReversed,
    TransferExistsWithDifferentFields,
    TransferNotPending,
    TransferNotReversible,
    ledger,
)
from moneyrail.ledger.types import AccountKind, BalanceLimit, Direction, Posting
from tests.factories import make_tenant
from tests.ledger.helpers import assert_cached_match_postings, fund, open_account


async def _events(session: AsyncSession, tenant_id: str, type_: str) -> int:
    stmt = (
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.tenant_id == tenant_id, OutboxEvent.type == type_)
    )
    return int(await session.scalar(stmt) or 0)


async def _move(
    session: AsyncSession,
    tenant_id: str,
    debit_account_id: str,
    credit_account_id: str,
    amount: int,
    **kwargs: Any,
) -> TransferOut:
    """A transfer of `amount` INR minor units between two accounts."""
    return await ledger.transfer(
        session,
        tenant_id=tenant_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=Money(amount, "INR"),
        **kwargs,
    )


async def _vault(session: AsyncSession, tenant_id: str) -> LedgerAccountOut:
    return await ledger.system_account(
        session,
        tenant_id=tenant_id,
        code="cash:vault:INR",
        name="Vault",
        currency="INR",
        kind=AccountKind.asset,
    )


async def _refused(
    session: AsyncSession, match: str, statement: str, params: dict[str, Any] | None = None
) -> None:
    """The database refuses `statement` with an error matching `match`; the test goes on."""
    nested = await session.begin_nested()
    with pytest.raises(Exception, match=match):
        await session.execute(text(statement), params)
    await nested.rollback()


async def test_open_account_and_code_is_unique(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    account = await open_account(session, tenant.tenant_id, code="cust:1")
    assert account.id.startswith("lacc_")
    assert (account.posted, account.pending, account.available) == (0, 0, 0)
    assert account.balance_limit.type == "non_negative"
    with pytest.raises(AccountCodeExists):
        await open_account(session, tenant.tenant_id, code="cust:1")
    # The failed create left the transaction usable.
    assert (
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=account.id)
    ).posted == 0


async def test_system_account_is_get_or_create(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    args = {"code": "cash:vault:INR", "name": "Vault", "currency": "INR", "kind": AccountKind.asset}
    first = await ledger.system_account(session, tenant_id=tenant.tenant_id, **args)
    again = await ledger.system_account(session, tenant_id=tenant.tenant_id, **args)
    assert first.id == again.id
    with pytest.raises(CurrencyMismatch):
        await ledger.system_account(
            session, tenant_id=tenant.tenant_id, **{**args, "currency": "USD"}
        )


async def test_transfer_moves_normal_balances_and_writes_outbox(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 10_000)
    vault = await _vault(session, tenant.tenant_id)
    assert (
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    ).posted == 10_000
    assert (
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=vault.id)
    ).posted == 10_000
    out = await _move(
        session,
        tenant.tenant_id,
        customer.id,
        vault.id,
        2_500,
        transfer_id="wd:1",
        description="cash withdrawal",
    )
    assert out.status == "posted" and out.amount.amount == 2_500
    balances = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    assert (balances.posted, balances.available) == (7_500, 7_500)
    assert await _events(session, tenant.tenant_id, "transfer.posted") == 2
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_limits_refuse_without_writing(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    strict = await open_account(session, tenant.tenant_id)
    overdraft = await open_account(session, tenant.tenant_id, limit=BalanceLimit.overdraft(500))
    other = await open_account(session, tenant.tenant_id, limit=BalanceLimit.none())
    await fund(session, tenant.tenant_id, strict.id, 100)
    with pytest.raises(InsufficientFunds) as refused:
        await _move(session, tenant.tenant_id, strict.id, other.id, 101, transfer_id="t:short")
    assert refused.value.extra["account_ids"] == [strict.id]
    assert await session.get(LedgerEntry, (tenant.tenant_id, "t:short")) is None
    # An overdraft of 500 keeps the balance above -500: -499 is the lowest it may reach.
    await _move(session, tenant.tenant_id, overdraft.id, other.id, 499)
    assert (
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=overdraft.id)
    ).posted == -499
    with pytest.raises(InsufficientFunds):
        await _move(session, tenant.tenant_id, overdraft.id, other.id, 1)
    # Incoming money is never refused, even into an account at its limit.
    await _move(session, tenant.tenant_id, other.id, overdraft.id, 1)
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_same_id_is_exactly_once(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    a = await open_account(session, tenant.tenant_id, limit=BalanceLimit.none())
    b = await open_account(session, tenant.tenant_id)
    args = {
        "tenant_id": tenant.tenant_id,
        "transfer_id": "pay:capture:1",
        "debit_account_id": a.id,
        "credit_account_id": b.id,
        "amount": Money(700, "INR"),
        "metadata": {"order": 7},
    }
    first = await ledger.transfer(session, **args)
    again = await ledger.transfer(session, **args)
    assert again == first
    assert (
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=b.id)
    ).posted == 700
    with pytest.raises(TransferExistsWithDifferentFields):
        await ledger.transfer(session, **{**args, "amount": Money(701, "INR")})
    with pytest.raises(TransferExistsWithDifferentFields):
        await ledger.transfer(session, **{**args, "metadata": {"order": 8}})
    with pytest.raises(InvalidLedgerId):
        await ledger.transfer(session, **{**args, "transfer_id": "has#hash"})


async def test_refusals(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    other_tenant = await make_tenant(session)
    foreign = await open_account(session, other_tenant.tenant_id)
    await make_tenant(session)  # leaves the session bound to some third tenant
    a = await open_account(session, tenant.tenant_id, limit=BalanceLimit.none())
    usd = await open_account(session, tenant.tenant_id, currency="USD")
    with pytest.raises(SameAccount):
        await _move(session, tenant.tenant_id, a.id, a.id, 1)
    with pytest.raises(CurrencyMismatch):
        await _move(session, tenant.tenant_id, a.id, usd.id, 1)
    with pytest.raises(AccountNotFound):
        await _move(session, tenant.tenant_id, a.id, foreign.id, 1)
    with pytest.raises(AccountNotFound):
        await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=foreign.id)


async def test_hold_post_partial_and_void(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    customer = await open_account(session, t)
    merchant = await open_account(session, t)
    await fund(session, t, customer.id, 1_000)
    hold = await _move(
        session,
        t,
        customer.id,
        merchant.id,
        600,
        transfer_id="auth:1",
        pending=True,
        timeout_seconds=60,
    )
    assert hold.status == "pending" and hold.expires_at is not None
    held = await ledger.balances(session, tenant_id=t, account_id=customer.id)
    assert (held.posted, held.pending, held.available) == (1_000, -600, 400)
    with pytest.raises(InsufficientFunds):
        await _move(session, t, customer.id, merchant.id, 401)
    with pytest.raises(PostAmountExceedsPending):
        await ledger.post_pending(
            session, tenant_id=t, transfer_id="auth:1", amount=Money(601, "INR")
        )
    posted = await ledger.post_pending(
        session, tenant_id=t, transfer_id="auth:1", amount=Money(450, "INR")
    )
    assert posted.status == "posted" and posted.posted_amount is not None
    assert posted.posted_amount.amount == 450
    again = await ledger.post_pending(
        session, tenant_id=t, transfer_id="auth:1", amount=Money(450, "INR")
    )
    assert again.status == "posted"
    with pytest.raises(PendingAlreadyPosted):
        await ledger.post_pending(
            session, tenant_id=t, transfer_id="auth:1", amount=Money(400, "INR")
        )
    with pytest.raises(PendingAlreadyPosted):
        await ledger.void_pending(session, tenant_id=t, transfer_id="auth:1")
    after = await ledger.balances(session, tenant_id=t, account_id=customer.id)
    assert (after.posted, after.pending, after.available) == (550, 0, 550)
    assert (await ledger.balances(session, tenant_id=t, account_id=merchant.id)).posted == 450

    await _move(session, t, customer.id, merchant.id, 300, transfer_id="auth:2", pending=True)
    voided = await ledger.void_pending(session, tenant_id=t, transfer_id="auth:2")
    assert voided.status == "voided"
    assert (
        await ledger.void_pending(session, tenant_id=t, transfer_id="auth:2")
    ).status == "voided"
    with pytest.raises(PendingAlreadyVoided):
        await ledger.post_pending(session, tenant_id=t, transfer_id="auth:2")
    with pytest.raises(TransferNotPending):
        await ledger.void_pending(session, tenant_id=t, transfer_id=posted.resolved_by or "")
    assert (await ledger.balances(session, tenant_id=t, account_id=customer.id)).available == 550
    assert await _events(session, t, "hold.posted") == 1
    assert await _events(session, t, "hold.voided") == 1
    assert await _events(session, t, "transfer.pending") == 2
    await assert_cached_match_postings(session, t)


async def test_reverse(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    customer = await open_account(session, t)
    await fund(session, t, customer.id, 1_000)
    vault = await _vault(session, t)
    wd = await _move(session, t, customer.id, vault.id, 300)
    reversal = await ledger.reverse(session, tenant_id=t, transfer_id=wd.id)
    assert reversal.kind == "reversal" and reversal.reverses_id == wd.id
    assert (reversal.debit_account_id, reversal.credit_account_id) == (vault.id, customer.id)
    assert (await ledger.balances(session, tenant_id=t, account_id=customer.id)).posted == 1_000
    assert await ledger.reverse(session, tenant_id=t, transfer_id=wd.id) == reversal
    with pytest.raises(TransferAlreadyReversed):
        await ledger.reverse(session, tenant_id=t, transfer_id=wd.id, reversal_id="other")
    with pytest.raises(TransferNotReversible):
        await ledger.reverse(session, tenant_id=t, transfer_id=reversal.id)
    assert (
        await ledger.get_transfer(session, tenant_id=t, transfer_id=wd.id)
    ).reversed_by == reversal.id
    assert await _events(session, t, "transfer.reversed") == 1


async def test_multi_leg_entry(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    loan = await open_account(session, t, kind=AccountKind.asset, limit=BalanceLimit.none())
    interest = await open_account(session, t, kind=AccountKind.income, limit=BalanceLimit.none())
    customer = await open_account(session, t)
    await fund(session, t, customer.id, 10_000)
    entry = await ledger.post_entry(
        session,
        tenant_id=t,
        entry_id="loan:repay:1",
        postings=[
            Posting(customer.id, Direction.debit, Money(8_884, "INR")),
            Posting(loan.id, Direction.credit, Money(7_884, "INR")),
            Posting(interest.id, Direction.credit, Money(1_000, "INR")),
        ],
    )
    assert len(entry.postings) == 3
    assert (await ledger.balances(session, tenant_id=t, account_id=interest.id)).posted == 1_000
    assert (await ledger.balances(session, tenant_id=t, account_id=loan.id)).posted == -7_884
    with pytest.raises(EntryUnbalanced):
        await ledger.post_entry(
            session,
            tenant_id=t,
            postings=[
                Posting(customer.id, Direction.debit, Money(10, "INR")),
                Posting(loan.id, Direction.credit, Money(9, "INR")),
            ],
        )
    with pytest.raises(InsufficientFunds):
        await ledger.post_entry(
            session,
            tenant_id=t,
            postings=[
                Posting(customer.id, Direction.debit, Money(5_000, "INR")),
                Posting(loan.id, Direction.credit, Money(5_000, "INR")),
            ],
        )
    await assert_cached_match_postings(session, t)


async def test_database_refuses_unbalanced_entries_and_changes(
    session: AsyncSession, owner_engine: object
) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    a = await open_account(session, t, limit=BalanceLimit.none())
    await session.execute(
        text(
            "INSERT INTO ledger_entries (tenant_id, id, kind, legs) VALUES (:t, 'bad', 'entry', 1)"
        ),
        {"t": t},
    )
    await session.execute(
        text(
            "INSERT INTO ledger_postings (tenant_id, entry_id, leg, account_id, direction,"
            " effect, amount, currency, balance_after)"
            " VALUES (:t, 'bad', 0, :a, 'debit', 'posted', 5, 'INR', 0)"
        ),
        {"t": t, "a": a.id},
    )
    await _refused(session, "unbalanced", "SET CONSTRAINTS ledger_entry_balanced IMMEDIATE")


async def test_database_refuses_entries_without_their_postings(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    a = await open_account(session, t, limit=BalanceLimit.none())
    b = await open_account(session, t, limit=BalanceLimit.none())
    # One statement, several entries: the commit check covers each of them.
    await session.execute(
        text(
            "INSERT INTO ledger_entries (tenant_id, id, kind, legs)"
            " VALUES (:t, 'whole', 'entry', 2), (:t, 'empty', 'entry', 2)"
        ),
        {"t": t},
    )
    await session.execute(
        text(
            "INSERT INTO ledger_postings (tenant_id, entry_id, leg, account_id, direction,"
            " effect, amount, currency, balance_after)"
            " VALUES (:t, 'whole', 0, :a, 'debit', 'posted', 5, 'INR', 0),"
            " (:t, 'whole', 1, :b, 'credit', 'posted', 5, 'INR', 0)"
        ),
        {"t": t, "a": a.id, "b": b.id},
    )
    await _refused(
        session,
        "ledger entry empty is unbalanced or incomplete",
        "SET CONSTRAINTS ledger_entry_balanced IMMEDIATE",
    )


async def test_database_refuses_an_overdraw_written_directly(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 100)
    await _refused(
        session,
        "below its balance limit",
        "UPDATE ledger_accounts SET posted_debits = posted_debits + 101 WHERE id = :a",
        {"a": customer.id},
    )


async def test_entries_are_append_only(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    a = await open_account(session, t, limit=BalanceLimit.none())
    b = await open_account(session, t)
    await _move(session, t, a.id, b.id, 5, transfer_id="x:1")
    for statement in (
        "UPDATE ledger_postings SET amount = 6 WHERE entry_id = 'x:1'",
        "DELETE FROM ledger_postings WHERE entry_id = 'x:1'",
        "UPDATE ledger_entries SET amount = 6 WHERE id = 'x:1'",
        "DELETE FROM ledger_entries WHERE id = 'x:1'",
    ):
        await _refused(session, r"permission denied|append-only", statement)


async def test_database_refuses_postings_with_bad_references(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    t = tenant.tenant_id
    a = await open_account(session, t, limit=BalanceLimit.none())
    b = await open_account(session, t)
    await _move(session, t, a.id, b.id, 5, transfer_id="ok:1")
    insert = (
        "INSERT INTO ledger_postings (tenant_id, entry_id, leg, account_id, direction, effect,"
        " amount, currency, balance_after) VALUES (:t, :e, :leg, :a, 'debit', 'posted', 5, :c, 0)"
    )
    cases = [
        ({"e": "missing", "leg": 0, "a": a.id, "c": "INR"}, "missing entry"),
        ({"e": "ok:1", "leg": 2, "a": a.id, "c": "INR"}, "past the entry"),
        ({"e": "ok:1", "leg": 1, "a": a.id, "c": "INR"}, "duplicate key"),
        ({"e": "fresh", "leg": 0, "a": "lacc_missing", "c": "INR"}, "missing entry or"),
        ({"e": "fresh", "leg": 0, "a": a.id, "c": "USD"}, "another currency"),
    ]
    await session.execute(
        text(
            "INSERT INTO ledger_entries (tenant_id, id, kind, legs) VALUES (:t, 'fresh', 'entry', 2)"
        ),
        {"t": t},
    )
    for case, message in cases:
        await _refused(session, message, insert, {"t": t, **case})
