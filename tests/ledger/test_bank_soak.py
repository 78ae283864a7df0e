"""A concurrent bank: 16 clients move money among 20 accounts while others read.

Runs for `LEDGER_SOAK_SECONDS` (default 8; set 60 for the full soak). Checks, throughout and
at the end: every consistent read of all balances sums to the starting total, no balance is
below its limit, every acknowledged transfer is stored exactly once (and nothing else is),
and the cached balances equal the sums of the postings.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import set_tenant
from moneyrail.ledger.models import LedgerEntry, LedgerPosting
from tests.factories import TenantContext, make_live_tenant
from tests.ledger.helpers import assert_cached_match_postings

ACCOUNTS = 20
CLIENTS = 16
SOAK_SECONDS = float(os.environ.get("LEDGER_SOAK_SECONDS", "8"))


@dataclass
class Bank:
    tenant: TenantContext
    floors: dict[str, int]
    total: int
    acknowledged: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)
    reads: int = 0
    violations: list[str] = field(default_factory=list)


async def _open_bank(client: httpx.AsyncClient, engine: AsyncEngine) -> Bank:
    tenant = await make_live_tenant(engine)
    vault = await client.post(
        "/ledger/accounts",
        json={"code": "vault", "name": "Vault", "currency": "INR", "kind": "asset"},
        headers=tenant.headers,
    )
    floors: dict[str, int] = {}
    total = 0
    rng = random.Random(7)
    for n in range(ACCOUNTS):
        overdraft = rng.choice([0, 0, 500, 2_000])
        limit = {"type": "overdraft", "limit": overdraft} if overdraft else {"type": "non_negative"}
        response = await client.post(
            "/ledger/accounts",
            json={
                "code": f"cust:{n}",
                "name": f"Customer {n}",
                "currency": "INR",
                "kind": "liability",
                "balance_limit": limit,
            },
            headers=tenant.headers,
        )
        account_id = response.json()["id"]
        floors[account_id] = -overdraft
        opening = rng.randrange(0, 20_000)
        total += opening
        if opening:
            funded = await client.post(
                "/ledger/transfers",
                json={
                    "id": f"open:{n}",
                    "debit_account_id": vault.json()["id"],
                    "credit_account_id": account_id,
                    "amount": {"amount": opening, "currency": "INR"},
                },
                headers=tenant.headers,
            )
            assert funded.status_code == 201, funded.text
    return Bank(tenant=tenant, floors=floors, total=total)


def _check_snapshot(bank: Bank, report: dict[str, Any]) -> None:
    lines = [line for line in report["lines"] if line["account_id"] in bank.floors]
    total = sum(line["balance"] for line in lines)
    if total != bank.total:
        bank.violations.append(f"sum of balances {total} != {bank.total}")
    if not report["balanced"]:
        bank.violations.append("trial balance does not balance")
    for line in lines:
        if line["balance"] < bank.floors[line["account_id"]]:
            bank.violations.append(f"{line['account_id']} below its limit: {line['balance']}")


async def _mover(client: httpx.AsyncClient, bank: Bank, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    ids = list(bank.floors)
    sent: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if sent and rng.random() < 0.1:
            body = rng.choice(sent)  # a client retrying a request it already sent
        else:
            debit, credit = rng.sample(ids, 2)
            body = {
                "id": f"t:{seed}:{uuid.uuid4().hex[:12]}",
                "debit_account_id": debit,
                "credit_account_id": credit,
                "amount": {"amount": rng.randrange(1, 6_000), "currency": "INR"},
            }
            sent.append(body)
        try:
            response = await client.post(
                "/ledger/transfers", json=body, headers=bank.tenant.headers
            )
        except httpx.HTTPError:
            bank.uncertain.add(body["id"])
            continue
        if response.status_code == 201:
            bank.acknowledged.add(body["id"])
        elif response.status_code == 422 and response.json()["code"] == "insufficient_funds":
            # A refused transfer leaves nothing behind, so a retry may later succeed; once
            # acknowledged, though, a retry must return the stored transfer.
            if body["id"] in bank.acknowledged:
                bank.violations.append(f"{body['id']} refused after it was acknowledged")
            bank.refused.add(body["id"])
        elif response.status_code == 409 and response.json()["code"] == "ledger_contention":
            bank.uncertain.add(body["id"])
        else:
            bank.violations.append(f"unexpected {response.status_code}: {response.text}")


async def _reader(client: httpx.AsyncClient, bank: Bank, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    ids = list(bank.floors)
    while time.monotonic() < deadline:
        if rng.random() < 0.5:
            report = await client.get(
                "/ledger/reports/trial-balance",
                params={"currency": "INR"},
                headers=bank.tenant.headers,
            )
            _check_snapshot(bank, report.json())
        else:
            account_id = rng.choice(ids)
            account = (
                await client.get(f"/ledger/accounts/{account_id}", headers=bank.tenant.headers)
            ).json()
            if account["available"] < bank.floors[account_id]:
                bank.violations.append(f"{account_id} available below its limit")
        bank.reads += 1


@pytest.mark.slow
async def test_concurrent_bank_keeps_every_invariant(
    live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    bank = await _open_bank(live_client, engine)
    deadline = time.monotonic() + SOAK_SECONDS
    movers = [_mover(live_client, bank, seed, deadline) for seed in range(CLIENTS - 4)]
    readers = [_reader(live_client, bank, seed, deadline) for seed in range(4)]
    await asyncio.gather(*movers, *readers)

    assert not bank.violations, bank.violations[:5]
    assert bank.reads > 0 and len(bank.acknowledged) > 50 and bank.refused
    never_stored = bank.refused - bank.acknowledged

    async with AsyncSession(engine) as session, session.begin():
        await set_tenant(session, bank.tenant.tenant_id)
        stored = {
            row.id: row.legs
            for row in (
                await session.execute(
                    select(LedgerEntry.id, LedgerEntry.legs).where(
                        LedgerEntry.tenant_id == bank.tenant.tenant_id,
                        LedgerEntry.id.like("t:%"),
                    )
                )
            ).all()
        }
        # Acknowledged transfers are stored once; refused ones never; nothing else appears.
        assert bank.acknowledged <= stored.keys()
        assert not stored.keys() & never_stored
        assert stored.keys() <= bank.acknowledged | bank.uncertain
        postings = (
            await session.execute(
                select(LedgerPosting.entry_id).where(
                    LedgerPosting.tenant_id == bank.tenant.tenant_id,
                    LedgerPosting.entry_id.like("t:%"),
                )
            )
        ).scalars()
        counts: dict[str, int] = {}
        for entry_id in postings:
            counts[entry_id] = counts.get(entry_id, 0) + 1
        assert all(counts[entry_id] == 2 for entry_id in stored)
        await assert_cached_match_postings(session, bank.tenant.tenant_id)
    final = await live_client.get(
        "/ledger/reports/trial-balance", params={"currency": "INR"}, headers=bank.tenant.headers
    )
    _check_snapshot(bank, final.json())
    assert not bank.violations
