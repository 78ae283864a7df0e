"""Batches of transfers on a real database (each test rolled back): the same rules as one
transfer at a time, the events, holds and retries of the set-based path."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.errors import AppError
from moneyrail.core.models import OutboxEvent
from moneyrail.core.money import Money
from moneyrail.ledger import batch, views
from moneyrail.ledger.models import LedgerHold
from moneyrail.ledger.repository import repository
from moneyrail.ledger.schemas import BatchTransferIn, TransferCreate, TransferOut
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit
from tests.conftest import problem
from tests.factories import make_tenant
from tests.ledger.helpers import assert_cached_match_postings, fund, open_account


def _item(transfer_id: str, debit: str, credit: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": {"amount": amount, "currency": "INR"},
        **extra,
    }


async def _book(session: AsyncSession, tenant_id: str) -> list[str]:
    """Accounts with every kind of limit on both normal sides, each funded with 100."""
    specs = [
        (AccountKind.liability, BalanceLimit.non_negative()),
        (AccountKind.liability, BalanceLimit.overdraft(50)),
        (AccountKind.liability, BalanceLimit.overdraft(1)),
        (AccountKind.liability, BalanceLimit.none()),
        (AccountKind.asset, BalanceLimit.non_negative()),
        (AccountKind.asset, BalanceLimit.overdraft(30)),
    ]
    ids = []
    for kind, limit in specs:
        account = await open_account(session, tenant_id, kind=kind, limit=limit)
        if kind is AccountKind.liability:
            await fund(session, tenant_id, account.id, 100)
        ids.append(account.id)
    return ids


async def test_batch_applies_each_transfer_as_the_single_transfer_path_would(
    session: AsyncSession,
) -> None:
    """The same random transfers, once as a batch and once one request at a time on an
    identical set of accounts: the same items succeed, fail with the same codes, and the
    balances end equal."""
    tenant = await make_tenant(session)
    alone = await _book(session, tenant.tenant_id)
    batched = await _book(session, tenant.tenant_id)
    rng = random.Random(7)
    plan = []
    for n in range(60):
        debit, credit = rng.sample(range(len(alone)), 2)
        pending = rng.random() < 0.25
        plan.append((n, debit, credit, rng.choice([1, 10, 29, 30, 31, 49, 50, 51, 80]), pending))

    expected = []
    for n, debit, credit, amount, pending in plan:
        try:
            await ledger.transfer(
                session,
                tenant_id=tenant.tenant_id,
                transfer_id=f"alone:{n}",
                debit_account_id=alone[debit],
                credit_account_id=alone[credit],
                amount=Money(amount, "INR"),
                pending=pending,
            )
            expected.append("created")
        except AppError as exc:
            expected.append(exc.code)

    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[
            _item(f"batch:{n}", batched[debit], batched[credit], amount, pending=pending)
            for n, debit, credit, amount, pending in plan
        ],
    )
    got = [r["status"] if r["error"] is None else r["error"]["code"] for r in out.results]
    assert got == expected
    assert "insufficient_funds" in got and "created" in got
    assert out.created == expected.count("created")
    for one, other in zip(alone, batched, strict=True):
        a = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=one)
        b = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=other)
        assert (a.posted, a.pending, a.available) == (b.posted, b.pending, b.available)
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_batch_overdraft_keeps_the_balance_above_the_limit(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id, limit=BalanceLimit.overdraft(50))
    other = await open_account(session, tenant.tenant_id, limit=BalanceLimit.none())
    await fund(session, tenant.tenant_id, customer.id, 100)
    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[_item(f"w:{n}", customer.id, other.id, 30) for n in range(5)],
    )
    # From 100, four debits of 30 reach -20; a fifth would reach -50, which is not above -50.
    assert [r["status"] for r in out.results] == ["created"] * 4 + ["failed"]
    balances = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    assert balances.posted == -20


async def test_batch_events_only_for_transfers_created(session: AsyncSession) -> None:
    """A failed item never had an event: events are written once each outcome is known."""
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id, limit=BalanceLimit.non_negative())
    other = await open_account(session, tenant.tenant_id, limit=BalanceLimit.none())
    await fund(session, tenant.tenant_id, customer.id, 100)
    ids = [f"e:{n}" for n in range(5)]
    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[_item(i, customer.id, other.id, 30) for i in ids],
    )
    assert [r["status"] for r in out.results] == ["created"] * 3 + ["failed"] * 2
    payloads = (
        await session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "transfer.posted"
            )
        )
    ).all()
    evented = sorted(p["data"]["id"] for p in payloads if p["data"]["id"].startswith("e:"))
    assert evented == ids[:3]


async def test_batch_holds_with_timeouts(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    other = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 100)
    before = datetime.now(UTC)
    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[
            _item("h:1", customer.id, other.id, 60, pending=True, timeout_seconds=90),
            _item("h:2", customer.id, other.id, 60, pending=True, timeout_seconds=90),
            _item("h:3", customer.id, other.id, 40, pending=True),
        ],
    )
    assert [r["status"] for r in out.results] == ["created", "failed", "created"]
    held = await ledger.get_transfer(session, tenant_id=tenant.tenant_id, transfer_id="h:1")
    assert held.status == "pending" and held.expires_at is not None
    assert (
        before + timedelta(seconds=90)
        <= held.expires_at
        <= datetime.now(UTC) + timedelta(seconds=90)
    )
    holds = (await session.execute(select(LedgerHold.transfer_id, LedgerHold.expires_at))).all()
    assert [(row.transfer_id, row.expires_at) for row in holds] == [("h:1", held.expires_at)]
    balances = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    assert (balances.posted, balances.available) == (100, 0)
    events = (
        await session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.tenant_id == tenant.tenant_id, OutboxEvent.type == "transfer.pending"
            )
        )
    ).all()
    assert sorted(event["data"]["id"] for event in events) == ["h:1", "h:3"]
    event = next(event for event in events if event["data"]["id"] == "h:1")
    assert TransferOut.model_validate(event["data"]) == held
    await assert_cached_match_postings(session, tenant.tenant_id)


async def test_batch_retries_when_an_id_is_written_after_its_lookup(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent request that commits one of the batch's ids between the batch's lookup
    and its insert: the insert fails, the attempt is rolled back, and the retry finds it."""
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    other = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 100)
    await ledger.transfer(
        session,
        tenant_id=tenant.tenant_id,
        transfer_id="r:1",
        debit_account_id=customer.id,
        credit_account_id=other.id,
        amount=Money(10, "INR"),
    )
    lookup = repository.batch_lookup
    calls = 0

    async def stale_lookup(*args: Any, **kwargs: Any) -> tuple[set[str], datetime]:
        nonlocal calls
        calls += 1
        found, now = await lookup(*args, **kwargs)
        return (set() if calls == 1 else found), now

    monkeypatch.setattr(repository, "batch_lookup", stale_lookup)
    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[
            _item("r:1", customer.id, other.id, 10),
            _item("r:2", customer.id, other.id, 20),
        ],
    )
    assert calls == 2
    assert [r["status"] for r in out.results] == ["exists", "created"]
    balances = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    assert balances.posted == 70
    await assert_cached_match_postings(session, tenant.tenant_id)


@pytest.mark.parametrize(
    "transfer",
    [
        {"id": "t:1", "pending": True, "timeout_seconds": 30},
        {"description": "rent", "metadata": {"invoice": "A-1", "lines": [1, 2]}},
        {"id": "t:2", "pending": False},
    ],
)
def test_batch_event_data_is_the_transfer_event(transfer: dict[str, Any]) -> None:
    item = _item(transfer.pop("id", "t:0"), "lacc_a", "lacc_b", 5, **transfer)
    now = datetime.now(UTC)
    made = batch._transfer(item, now)
    created_at = now - timedelta(milliseconds=3)
    assert batch._event_data(made, created_at.isoformat()) == views.transfer_event(
        made.row(), created_at=created_at
    )


@pytest.mark.parametrize(
    "item",
    [
        {"debit_account_id": "a", "credit_account_id": "b", "amount": {"amount": 1}},
        {"debit_account_id": "", "credit_account_id": "b", "amount": {"amount": 1}},
        {"debit_account_id": "a", "credit_account_id": "b" * 41, "amount": {"amount": 1}},
        {"debit_account_id": "a", "credit_account_id": "b", "amount": {"amount": 0}},
        {"debit_account_id": "a", "credit_account_id": "b", "amount": {"amount": "5"}},
        {"debit_account_id": "a", "credit_account_id": "b", "amount": {"amount": 1.0}},
        {"debit_account_id": "a", "credit_account_id": "b", "amount": {"amount": 10**19}},
        {"id": "a b", "debit_account_id": "a", "credit_account_id": "b"},
        {"id": "x" * 65, "debit_account_id": "a", "credit_account_id": "b"},
        {"debit_account_id": "a", "credit_account_id": "b", "timeout_seconds": 0},
        {"debit_account_id": "a", "credit_account_id": "b", "description": "d" * 501},
        {"debit_account_id": "a", "credit_account_id": "b", "colour": "red"},
        {"debit_account_id": "a", "credit_account_id": "b", "metadata": [1]},
        {"debit_account_id": "a", "credit_account_id": "b", "pending": "maybe"},
        {"credit_account_id": "b"},
    ],
)
def test_batch_items_are_validated_as_transfer_create(item: dict[str, Any]) -> None:
    item = {"amount": {"amount": 1, "currency": "XXY"}, **item}

    def errors(validate: Any) -> list[tuple[str, tuple[Any, ...]]]:
        with pytest.raises(ValidationError) as raised:
            validate(item)
        return sorted((e["type"], e["loc"]) for e in raised.value.errors())

    assert errors(TypeAdapter(BatchTransferIn).validate_python) == errors(
        TransferCreate.model_validate
    )


def test_valid_batch_items_read_as_transfer_create() -> None:
    item = _item("v:1", "a", "b", 7, pending="true", timeout_seconds=5)
    item["amount"]["currency"] = "inr"
    as_dict = TypeAdapter(BatchTransferIn).validate_python(item)
    as_model = TransferCreate.model_validate(item)
    assert as_dict == as_model.model_dump(exclude_unset=True)
    assert as_dict["amount"] == {"amount": 7, "currency": "INR"} and as_dict["pending"] is True


async def test_batch_api_without_ids_needs_an_idempotency_key(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    other = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 100)
    body = {
        "transfers": [
            {
                "debit_account_id": customer.id,
                "credit_account_id": other.id,
                "amount": {"amount": 10, "currency": "INR"},
            }
        ]
    }
    url = "/ledger/transfers/batch"
    problem(
        await client.post(url, json=body, headers=tenant.headers), 400, "idempotency_key_required"
    )
    blank = await client.post(url, json=body, headers=tenant.with_idempotency(" "))
    problem(blank, 400, "idempotency_key_invalid")
    first = await client.post(url, json=body, headers=tenant.with_idempotency("b-1"))
    again = await client.post(url, json=body, headers=tenant.with_idempotency("b-1"))
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["created"] == 1
    changed = {"transfers": [{**body["transfers"][0], "description": "other"}]}
    problem(
        await client.post(url, json=changed, headers=tenant.with_idempotency("b-1")),
        422,
        "idempotency_key_reused",
    )
    balances = await ledger.balances(session, tenant_id=tenant.tenant_id, account_id=customer.id)
    assert balances.posted == 90
    invalid = await client.post(
        url,
        json={"transfers": [{**body["transfers"][0], "amount": {"amount": -1, "currency": "INR"}}]},
        headers=tenant.with_idempotency(),
    )
    assert invalid.status_code == 422, invalid.text
    assert "transfers" in invalid.text


async def test_batch_runs_again_when_chosen_as_a_deadlock_victim(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(session)
    customer = await open_account(session, tenant.tenant_id)
    other = await open_account(session, tenant.tenant_id)
    await fund(session, tenant.tenant_id, customer.id, 100)
    lock = repository.lock_batch_accounts
    calls = 0

    class Deadlock(Exception):
        sqlstate = "40P01"

    async def deadlocked_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DBAPIError("SELECT ... FOR UPDATE", None, Deadlock())
        return await lock(*args, **kwargs)

    monkeypatch.setattr(repository, "lock_batch_accounts", deadlocked_once)
    out = await ledger.transfer_batch(
        session,
        tenant_id=tenant.tenant_id,
        transfers=[_item("d:1", customer.id, other.id, 10)],
    )
    assert calls == 2 and [r["status"] for r in out.results] == ["created"]
    events = (
        await session.scalars(
            select(OutboxEvent.id).where(
                OutboxEvent.tenant_id == tenant.tenant_id,
                OutboxEvent.payload["data"]["id"].astext == "d:1",
            )
        )
    ).all()
    assert len(events) == 1  # the first attempt's event went with its savepoint
    await assert_cached_match_postings(session, tenant.tenant_id)
