from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.models import OutboxEvent
from tests.banking.conftest import Bank, balance, inr, new_account, new_customer
from tests.conftest import problem


async def _loan(client: httpx.AsyncClient, bank: Bank, **overrides: object) -> tuple[str, str]:
    cid = await new_customer(client, bank.operator)
    number = await new_account(client, bank.operator, customer_id=cid, deposit=50_000_00)
    body = {
        "customer_id": cid,
        "principal": inr(100_000_00),
        "annual_rate": "12",
        "tenure_months": 12,
        "repayment_account_number": number,
        "purpose": "Working capital",
        **overrides,
    }
    created = await client.post("/loans", json=body, headers=bank.operator.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"], number


async def test_loan_lifecycle_and_emi_acceptance(
    client: httpx.AsyncClient, bank: Bank, system_session: AsyncSession
) -> None:
    loan_id, number = await _loan(client, bank)
    op, admin = bank.operator, bank.admin

    loan = (await client.get(f"/loans/{loan_id}", headers=bank.viewer.headers)).json()
    assert loan["status"] == "pending_approval"
    assert loan["emi"] == inr(8_884_88)
    assert loan["outstanding_principal"] == inr(0)

    projected = (await client.get(f"/loans/{loan_id}/schedule", headers=bank.viewer.headers)).json()
    assert projected["projected"] is True
    rows = projected["installments"]
    assert len(rows) == 12
    assert projected["emi"] == inr(8_884_88)
    assert rows[0]["interest"] == inr(1_000_00) and rows[0]["principal"] == inr(7_884_88)
    assert rows[-1]["closing_balance"] == inr(0)
    assert sum(r["principal"]["amount"] for r in rows) == 100_000_00
    assert (
        projected["total_payment"]["amount"] == 100_000_00 + projected["total_interest"]["amount"]
    )

    problem(
        await client.post(f"/loans/{loan_id}/disburse", headers=op.with_idempotency()),
        422,
        "invalid_loan_status",
    )
    problem(await client.post(f"/loans/{loan_id}/approve", headers=op.headers), 403, "forbidden")
    # The owner key created nothing here, but an admin that created a loan may not approve it.
    own_id, _ = await _loan(client, bank)
    own = await client.post(
        "/loans",
        json={
            "customer_id": loan["customer_id"],
            "principal": inr(1_000_00),
            "annual_rate": "10",
            "tenure_months": 6,
            "repayment_account_number": number,
        },
        headers=admin.headers,
    )
    problem(
        await client.post(f"/loans/{own.json()['id']}/approve", headers=admin.headers),
        403,
        "maker_checker_violation",
    )
    rejected = await client.post(
        f"/loans/{own_id}/reject", json={"note": "no collateral"}, headers=admin.headers
    )
    assert rejected.json()["status"] == "rejected"

    approved = await client.post(
        f"/loans/{loan_id}/approve", json={"note": "ok"}, headers=admin.headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"] == admin.api_key_id
    problem(
        await client.post(f"/loans/{loan_id}/approve", headers=bank.owner.headers),
        422,
        "invalid_loan_status",
    )

    problem(
        await client.post(f"/loans/{loan_id}/disburse", headers=op.headers),
        400,
        "idempotency_key_required",
    )
    closing = await client.patch(
        f"/accounts/{number}/status", json={"status": "closed"}, headers=admin.headers
    )
    problem(closing, 422, "invalid_status_transition")
    before = await balance(client, op, number)
    key = op.with_idempotency()
    disbursed = await client.post(f"/loans/{loan_id}/disburse", headers=key)
    assert disbursed.status_code == 200, disbursed.text
    replay = await client.post(f"/loans/{loan_id}/disburse", headers=key)
    assert replay.headers["idempotency-replayed"] == "true"
    assert await balance(client, op, number) == before + 100_000_00
    body = disbursed.json()
    assert body["status"] == "disbursed"
    assert body["outstanding_principal"] == inr(100_000_00)
    assert body["next_due"]["number"] == 1 and body["next_due"]["amount_due"] == inr(8_884_88)
    assert body["overdue"]["installments"] == 0

    fixed = (await client.get(f"/loans/{loan_id}/schedule", headers=op.headers)).json()
    assert fixed["projected"] is False
    assert fixed["installments"][0]["due_date"] == body["first_due_date"]

    # First EMI: interest 1,000.00 then principal 7,884.88.
    paid = await client.post(
        f"/loans/{loan_id}/repayments",
        json={"amount": inr(8_884_88)},
        headers=op.with_idempotency(),
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["interest"], paid.json()["principal"]) == (inr(1_000_00), inr(7_884_88))
    assert paid.json()["outstanding_principal"] == inr(92_115_12)
    # A part payment covers the next interest first.
    part = await client.post(
        f"/loans/{loan_id}/repayments", json={"amount": inr(500_00)}, headers=op.with_idempotency()
    )
    assert (part.json()["interest"], part.json()["principal"]) == (inr(500_00), inr(0))

    state = (await client.get(f"/loans/{loan_id}", headers=op.headers)).json()
    remaining = state["outstanding_principal"]["amount"] + state["outstanding_interest"]["amount"]
    over = await client.post(
        f"/loans/{loan_id}/repayments",
        json={"amount": inr(remaining + 1)},
        headers=op.with_idempotency(),
    )
    problem(over, 422, "repayment_exceeds_outstanding")
    final = await client.post(
        f"/loans/{loan_id}/repayments",
        json={"amount": inr(remaining)},
        headers=op.with_idempotency(),
    )
    assert final.status_code == 201, final.text
    assert final.json()["loan_status"] == "closed"
    assert final.json()["outstanding_principal"] == inr(0)

    closed = (await client.get(f"/loans/{loan_id}", headers=op.headers)).json()
    assert closed["next_due"] is None and closed["outstanding_interest"] == inr(0)
    schedule = (await client.get(f"/loans/{loan_id}/schedule", headers=op.headers)).json()
    assert {row["status"] for row in schedule["installments"]} == {"paid"}
    interest_total = schedule["total_interest"]["amount"]
    assert await balance(client, op, number) == before + 100_000_00 - 100_000_00 - interest_total
    problem(
        await client.post(
            f"/loans/{loan_id}/repayments", json={"amount": inr(1)}, headers=op.with_idempotency()
        ),
        422,
        "invalid_loan_status",
    )

    listed = await client.get(
        "/loans",
        params={"customer_id": loan["customer_id"], "status": "closed"},
        headers=op.headers,
    )
    assert [x["id"] for x in listed.json()["data"]] == [loan_id]
    events = set(
        (
            await system_session.scalars(
                select(OutboxEvent.type).where(OutboxEvent.tenant_id == bank.owner.tenant_id)
            )
        ).all()
    )
    assert {
        "loan.created",
        "loan.approved",
        "loan.rejected",
        "loan.disbursed",
        "loan.repaid",
        "loan.closed",
        "entry.posted",
    } <= events


async def test_loan_validation(client: httpx.AsyncClient, bank: Bank) -> None:
    cid = await new_customer(client, bank.operator)
    someone_else = await new_account(client, bank.operator)
    body = {
        "customer_id": cid,
        "principal": inr(1_000),
        "annual_rate": "12",
        "tenure_months": 12,
        "repayment_account_number": someone_else,
    }
    problem(
        await client.post("/loans", json=body, headers=bank.operator.headers),
        422,
        "invalid_loan_terms",
    )
    problem(
        await client.post(
            "/loans", json={**body, "tenure_months": 0}, headers=bank.operator.headers
        ),
        422,
        "validation_error",
    )
    problem(
        await client.post(
            "/loans", json={**body, "annual_rate": "12.123456"}, headers=bank.operator.headers
        ),
        422,
        "validation_error",
    )
    problem(await client.post("/loans", json=body, headers=bank.viewer.headers), 403)
    problem(
        await client.get("/loans/loan_01J0000000000000000000000", headers=bank.viewer.headers),
        404,
        "loan_not_found",
    )


async def test_repayment_needs_funds(client: httpx.AsyncClient, bank: Bank) -> None:
    loan_id, number = await _loan(client, bank, principal=inr(1_000_00))
    await client.post(f"/loans/{loan_id}/approve", headers=bank.admin.headers)
    await client.post(f"/loans/{loan_id}/disburse", headers=bank.operator.with_idempotency())
    drain = await balance(client, bank.operator, number)
    await client.post(
        f"/accounts/{number}/withdraw",
        json={"amount": inr(drain)},
        headers=bank.operator.with_idempotency(),
    )
    short = await client.post(
        f"/loans/{loan_id}/repayments",
        json={"amount": inr(100)},
        headers=bank.operator.with_idempotency(),
    )
    problem(short, 422, "insufficient_funds")
    state = (await client.get(f"/loans/{loan_id}", headers=bank.operator.headers)).json()
    assert state["outstanding_principal"] == inr(1_000_00)
