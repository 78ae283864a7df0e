"""A Hypothesis state machine drives the ledger API and keeps a model of every balance.

Rules: open accounts (with or without limits), deposit, withdraw, transfer, hold, post
(in full or in part), void, reverse, and retry an earlier request with the same id. After
every step each account's posted, pending and available balances from the API must equal
the model's. `LEDGER_STATE_EXAMPLES` sets the number of examples (default 12). Each
example runs on a fresh tenant through the real app, committing for real.

The machine runs on its own event loop (Hypothesis drives it synchronously), so it builds
its own engine and app instead of using the async fixtures.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_config
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core.db import Database, create_engine
from moneyrail.core.settings import Settings
from moneyrail.main import create_app
from tests.factories import TenantContext, make_live_tenant

T = TypeVar("T")
ACCOUNTS_MAX = 4
amounts = st.integers(min_value=1, max_value=300)


@dataclass
class ModelAccount:
    """Counters kept by the model; balances are on the account's normal side."""

    debit_normal: bool
    floor: int | None
    pd: int = 0
    pc: int = 0
    qd: int = 0
    qc: int = 0

    def posted(self) -> int:
        return self.pd - self.pc if self.debit_normal else self.pc - self.pd

    def pending(self) -> int:
        return self.qd - self.qc if self.debit_normal else self.qc - self.qd

    def available(self, pd: int = 0, pc: int = 0, qd: int = 0, qc: int = 0) -> int:
        if self.debit_normal:
            return (self.pd + pd) - (self.pc + pc) - (self.qc + qc)
        return (self.pc + pc) - (self.pd + pd) - (self.qd + qd)

    def allows(self, pd: int = 0, pc: int = 0, qd: int = 0, qc: int = 0) -> bool:
        after = self.available(pd, pc, qd, qc)
        return self.floor is None or after >= self.available() or after >= min(self.floor + 1, 0)


@dataclass
class ModelTransfer:
    body: dict[str, Any]
    stored: bool = False
    state: str = "posted"  # posted | pending | voided
    posted_amount: int = 0
    reversed_by: str | None = None


class Harness:
    """One engine, app and client for the whole run, on the machine's own event loop."""

    def __init__(self, engine: AsyncEngine, client: httpx.AsyncClient, app: Any) -> None:
        self.engine = engine
        self.client = client
        self.app = app
        self._lifespan: Any = None

    @classmethod
    async def start(cls, config: Settings) -> Harness:
        engine = create_engine(config)
        app = create_app(config)
        app.state.db = Database(engine)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver/api/v1"
        )
        harness = cls(engine, client, app)
        harness._lifespan = lifespan
        return harness

    async def close(self) -> None:
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)
        await self.engine.dispose()


class LedgerMachine(RuleBasedStateMachine):
    runner: ClassVar[asyncio.Runner]
    harness: ClassVar[Harness]
    counter = itertools.count()

    accounts = Bundle("accounts")
    posted = Bundle("posted")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, ModelAccount] = {}
        self.transfers: dict[str, ModelTransfer] = {}
        self.tenant: TenantContext | None = None
        self.vault = ""

    # --- plumbing ---------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        assert self.tenant is not None
        return self.run(
            self.harness.client.request(method, path, json=body, headers=self.tenant.headers)
        )

    def open(self, kind: str, limit: dict[str, Any]) -> str:
        response = self.call(
            "POST",
            "/ledger/accounts",
            {
                "code": f"a{next(self.counter)}",
                "name": "x",
                "currency": "INR",
                "kind": kind,
                "balance_limit": limit,
            },
        )
        assert response.status_code == 201, response.text
        account_id: str = response.json()["id"]
        floor = {"none": None, "non_negative": 0}.get(limit["type"], -limit.get("limit", 0))
        self.model[account_id] = ModelAccount(debit_normal=kind == "asset", floor=floor)
        return account_id

    def send(self, transfer: ModelTransfer) -> httpx.Response:
        """POST a transfer and check the API's answer against the model, updating it."""
        body = transfer.body
        debit, credit = self.model[body["debit_account_id"]], self.model[body["credit_account_id"]]
        amount = body["amount"]["amount"]
        response = self.call("POST", "/ledger/transfers", body)
        if transfer.stored:
            assert response.status_code == 201, response.text
            return response
        d_delta, c_delta = (
            ({"qd": amount}, {"qc": amount})
            if body.get("pending")
            else ({"pd": amount}, {"pc": amount})
        )
        if debit.allows(**d_delta) and credit.allows(**c_delta):
            assert response.status_code == 201, response.text
            for account, delta in ((debit, d_delta), (credit, c_delta)):
                for key, value in delta.items():
                    setattr(account, key, getattr(account, key) + value)
            transfer.stored = True
            transfer.state = "pending" if body.get("pending") else "posted"
        else:
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "insufficient_funds"
        return response

    def new_transfer(self, debit: str, credit: str, amount: int, **extra: Any) -> ModelTransfer:
        transfer_id = f"t{next(self.counter)}"
        transfer = ModelTransfer(
            body={
                "id": transfer_id,
                "debit_account_id": debit,
                "credit_account_id": credit,
                "amount": {"amount": amount, "currency": "INR"},
                **extra,
            }
        )
        self.transfers[transfer_id] = transfer
        return transfer

    # --- rules ------------------------------------------------------------------------------

    @initialize(target=accounts)
    def start(self) -> str:
        self.tenant = self.run(make_live_tenant(self.harness.engine))
        self.vault = self.open("asset", {"type": "none"})
        return self.open("liability", {"type": "non_negative"})

    @precondition(lambda self: len(self.model) <= ACCOUNTS_MAX)
    @rule(
        target=accounts,
        limit=st.sampled_from(["non_negative", "overdraft", "none"]),
        overdraft=st.integers(min_value=0, max_value=200),
    )
    def open_account(self, limit: str, overdraft: int) -> str:
        spec = {"type": limit, "limit": overdraft} if limit == "overdraft" else {"type": limit}
        return self.open("liability", spec)

    @rule(target=posted, account=accounts, amount=amounts)
    def deposit(self, account: str, amount: int) -> str:
        transfer = self.new_transfer(self.vault, account, amount)
        self.send(transfer)
        return transfer.body["id"]

    @rule(target=posted, account=accounts, amount=amounts)
    def withdraw(self, account: str, amount: int) -> str:
        transfer = self.new_transfer(account, self.vault, amount)
        self.send(transfer)
        return transfer.body["id"]

    @rule(target=posted, debit=accounts, credit=accounts, amount=amounts)
    def transfer(self, debit: str, credit: str, amount: int) -> str:
        if debit == credit:
            credit = self.vault
        transfer = self.new_transfer(debit, credit, amount)
        self.send(transfer)
        return transfer.body["id"]

    @rule(target=holds, debit=accounts, amount=amounts)
    def hold(self, debit: str, amount: int) -> str:
        transfer = self.new_transfer(debit, self.vault, amount, pending=True)
        self.send(transfer)
        return transfer.body["id"]

    @rule(transfer_id=st.one_of(posted, holds))
    def retry_same_id(self, transfer_id: str) -> None:
        before = {k: (a.pd, a.pc, a.qd, a.qc) for k, a in self.model.items()}
        transfer = self.transfers[transfer_id]
        was_stored = transfer.stored
        self.send(transfer)
        if was_stored:
            assert before == {k: (a.pd, a.pc, a.qd, a.qc) for k, a in self.model.items()}

    @rule(target=posted, transfer_id=consumes(holds), data=st.data())
    def post_hold(self, transfer_id: str, data: st.DataObject) -> str:
        transfer = self.transfers[transfer_id]
        amount = transfer.body["amount"]["amount"]
        part = data.draw(st.integers(min_value=1, max_value=amount))
        response = self.call(
            "POST",
            f"/ledger/transfers/{transfer_id}/post",
            {"amount": {"amount": part, "currency": "INR"}},
        )
        if not transfer.stored:
            assert response.status_code == 404, response.text
            return transfer_id
        assert response.status_code == 200, response.text
        debit = self.model[transfer.body["debit_account_id"]]
        credit = self.model[transfer.body["credit_account_id"]]
        debit.qd -= amount
        credit.qc -= amount
        debit.pd += part
        credit.pc += part
        transfer.state, transfer.posted_amount = "posted", part
        return transfer_id

    @rule(transfer_id=consumes(holds))
    def void_hold(self, transfer_id: str) -> None:
        transfer = self.transfers[transfer_id]
        response = self.call("POST", f"/ledger/transfers/{transfer_id}/void")
        if not transfer.stored:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        amount = transfer.body["amount"]["amount"]
        self.model[transfer.body["debit_account_id"]].qd -= amount
        self.model[transfer.body["credit_account_id"]].qc -= amount
        transfer.state = "voided"

    @rule(transfer_id=posted)
    def reverse(self, transfer_id: str) -> None:
        transfer = self.transfers[transfer_id]
        response = self.call("POST", f"/ledger/transfers/{transfer_id}/reverse")
        if not transfer.stored:
            assert response.status_code == 404, response.text
            return
        if transfer.reversed_by is not None:
            assert response.status_code == 201 and response.json()["id"] == transfer.reversed_by
            return
        amount = transfer.posted_amount or transfer.body["amount"]["amount"]
        # The reversal debits the original credit account and credits the original debit one.
        debit = self.model[transfer.body["credit_account_id"]]
        credit = self.model[transfer.body["debit_account_id"]]
        if debit.allows(pd=amount) and credit.allows(pc=amount):
            assert response.status_code == 201, response.text
            debit.pd += amount
            credit.pc += amount
            transfer.reversed_by = response.json()["id"]
        else:
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "insufficient_funds"

    # --- the check after every step ---------------------------------------------------------

    @invariant()
    def balances_match_model(self) -> None:
        if self.tenant is None:
            return
        for account_id, model in self.model.items():
            body = self.call("GET", f"/ledger/accounts/{account_id}").json()
            assert (body["posted"], body["pending"], body["available"]) == (
                model.posted(),
                model.pending(),
                model.available(),
            ), (account_id, body, model)
            if model.floor is not None:
                assert body["available"] >= min(model.floor + 1, 0)


@pytest.mark.slow
def test_api_balances_follow_the_model(settings: Settings) -> None:
    with asyncio.Runner() as runner:
        harness = runner.run(Harness.start(settings))
        LedgerMachine.runner = runner
        LedgerMachine.harness = harness
        try:
            run_state_machine_as_test(
                LedgerMachine,
                settings=hypothesis_settings(),
            )
        finally:
            runner.run(harness.close())


def hypothesis_settings() -> hypothesis_config:
    return hypothesis_config(
        max_examples=int(os.environ.get("LEDGER_STATE_EXAMPLES", "12")),
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
