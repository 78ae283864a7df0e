from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditLog
from moneyrail.core.models import OutboxEvent
from tests.banking.conftest import Bank, balance, inr, new_account, new_customer
from tests.conftest import problem


async def _post(
    client: httpx.AsyncClient, path: str, body: dict, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(path, json=body, headers=headers)


async def test_open_deposit_withdraw_transfer(client: httpx.AsyncClient, bank: Bank) -> None:
    op = bank.operator
    cid = await new_customer(client, op)
    no_key = await client.post(
        "/accounts",
        json={"customer_id": cid, "account_type": "SAVINGS", "initial_deposit": inr(10_000)},
        headers=op.headers,
    )
    problem(no_key, 400, "idempotency_key_required")
    a = await new_account(client, op, customer_id=cid, deposit=10_000)
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert re.fullmatch(rf"AC-{today}-\d{{6}}", a)
    b = await new_account(client, op, account_type="CURRENT")
    assert int(b[-6:]) == int(a[-6:]) + 1
    assert await balance(client, bank.viewer, a) == 10_000

    dep = await _post(
        client,
        f"/accounts/{a}/deposit",
        {"amount": inr(2_500), "description": "Cash"},
        op.with_idempotency(),
    )
    assert dep.status_code == 201, dep.text
    assert dep.json()["direction"] == "credit"
    assert dep.json()["balance_after"] == inr(12_500)
    assert dep.json()["ledger_ref"] == f"bank:{dep.json()['id']}"

    wd = await _post(
        client, f"/accounts/{a}/withdraw", {"amount": inr(2_000)}, op.with_idempotency()
    )
    assert wd.status_code == 201, wd.text
    assert wd.json()["balance_after"] == inr(10_500)

    tr = await _post(
        client,
        f"/accounts/{a}/transfer",
        {"amount": inr(500), "to_account_number": b},
        op.with_idempotency(),
    )
    assert tr.status_code == 201, tr.text
    assert tr.json()["counterparty_account_number"] == b
    assert (await balance(client, op, a), await balance(client, op, b)) == (10_000, 500)

    short = await _post(
        client, f"/accounts/{b}/withdraw", {"amount": inr(501)}, op.with_idempotency()
    )
    problem(short, 422, "insufficient_funds")
    same = await _post(
        client,
        f"/accounts/{a}/transfer",
        {"amount": inr(1), "to_account_number": a},
        op.with_idempotency(),
    )
    problem(same, 422, "same_account_transfer")
    usd = await _post(
        client,
        f"/accounts/{a}/deposit",
        {"amount": {"amount": 5, "currency": "USD"}},
        op.with_idempotency(),
    )
    problem(usd, 422, "currency_mismatch")
    nowhere = await _post(
        client,
        f"/accounts/{a}/transfer",
        {"amount": inr(1), "to_account_number": "AC-20000101-000001"},
        op.with_idempotency(),
    )
    problem(nowhere, 404, "account_not_found")
    problem(
        await _post(client, f"/accounts/{a}/deposit", {"amount": inr(1)}, op.headers),
        400,
        "idempotency_key_required",
    )

    history = await client.get(f"/accounts/{a}/transactions", headers=bank.viewer.headers)
    kinds = [(t["kind"], t["direction"], t["amount"]["amount"]) for t in history.json()["data"]]
    assert kinds == [
        ("transfer", "debit", 500),
        ("withdrawal", "debit", 2_000),
        ("deposit", "credit", 2_500),
        ("deposit", "credit", 10_000),
    ]
    page = await client.get(f"/accounts/{a}/transactions", params={"limit": 3}, headers=op.headers)
    rest = await client.get(
        f"/accounts/{a}/transactions",
        params={"limit": 3, "cursor": page.json()["next_cursor"]},
        headers=op.headers,
    )
    assert len(rest.json()["data"]) == 1

    listed = await client.get(f"/customers/{cid}/accounts", headers=bank.viewer.headers)
    assert [x["balance"]["posted"]["amount"] for x in listed.json()["data"]] == [10_000]

    summary = await client.get(
        "/reports/daily-summary",
        params={"date": datetime.now(UTC).date().isoformat()},
        headers=bank.viewer.headers,
    )
    body = summary.json()
    assert body["deposits"] == [{"currency": "INR", "count": 2, "total": inr(12_500)}]
    assert body["withdrawals"] == [{"currency": "INR", "count": 1, "total": inr(2_000)}]
    assert body["transfers"] == [{"currency": "INR", "count": 1, "total": inr(500)}]
    empty = await client.get(
        "/reports/daily-summary", params={"date": "2001-01-01"}, headers=bank.viewer.headers
    )
    assert empty.json()["deposits"] == []


async def test_overdraft_on_current_accounts(client: httpx.AsyncClient, bank: Bank) -> None:
    op = bank.operator
    cid = await new_customer(client, op)
    refused = await client.post(
        "/accounts",
        json={"customer_id": cid, "account_type": "SAVINGS", "overdraft_limit": 100},
        headers=op.headers,
    )
    problem(refused, 422, "overdraft_not_allowed")
    number = await new_account(
        client, op, customer_id=cid, account_type="CURRENT", overdraft_limit=5_000, deposit=1_000
    )
    ok = await _post(
        client, f"/accounts/{number}/withdraw", {"amount": inr(5_500)}, op.with_idempotency()
    )
    assert ok.status_code == 201, ok.text
    assert await balance(client, op, number) == -4_500
    problem(
        await _post(
            client, f"/accounts/{number}/withdraw", {"amount": inr(501)}, op.with_idempotency()
        ),
        422,
        "insufficient_funds",
    )


async def test_roles(client: httpx.AsyncClient, bank: Bank) -> None:
    number = await new_account(client, bank.operator, deposit=1_000)
    body = {"amount": inr(100)}
    problem(
        await _post(client, f"/accounts/{number}/deposit", body, bank.viewer.with_idempotency()),
        403,
        "forbidden",
    )
    problem(
        await _post(client, f"/accounts/{number}/withdraw", body, bank.viewer.with_idempotency()),
        403,
        "forbidden",
    )
    freeze = await client.patch(
        f"/accounts/{number}/status", json={"status": "frozen"}, headers=bank.operator.headers
    )
    problem(freeze, 403, "forbidden")
    problem(await client.get(f"/accounts/{number}", headers={"X-API-Key": "mr_test_nope"}), 401)
    assert (await client.get(f"/accounts/{number}", headers=bank.viewer.headers)).status_code == 200


async def test_freeze_and_close(
    client: httpx.AsyncClient, bank: Bank, system_session: AsyncSession
) -> None:
    op, admin = bank.operator, bank.admin
    number = await new_account(client, op, deposit=1_000)
    other = await new_account(client, op)
    frozen = await client.patch(
        f"/accounts/{number}/status",
        json={"status": "frozen", "reason": "court order"},
        headers=admin.headers,
    )
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    problem(
        await _post(
            client, f"/accounts/{number}/withdraw", {"amount": inr(1)}, op.with_idempotency()
        ),
        422,
        "account_frozen",
    )
    problem(
        await _post(
            client,
            f"/accounts/{number}/transfer",
            {"amount": inr(1), "to_account_number": other},
            op.with_idempotency(),
        ),
        422,
        "account_frozen",
    )
    # Credits still reach a frozen account.
    assert (
        await _post(
            client, f"/accounts/{number}/deposit", {"amount": inr(1)}, op.with_idempotency()
        )
    ).status_code == 201

    closing = await client.patch(
        f"/accounts/{number}/status", json={"status": "closed"}, headers=admin.headers
    )
    problem(closing, 422, "account_balance_not_zero")
    await client.patch(
        f"/accounts/{number}/status", json={"status": "active"}, headers=admin.headers
    )
    await _post(
        client, f"/accounts/{number}/withdraw", {"amount": inr(1_001)}, op.with_idempotency()
    )
    closed = await client.patch(
        f"/accounts/{number}/status", json={"status": "closed"}, headers=admin.headers
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"] is not None
    problem(
        await _post(
            client, f"/accounts/{number}/deposit", {"amount": inr(1)}, op.with_idempotency()
        ),
        422,
        "account_closed",
    )
    reopen = await client.patch(
        f"/accounts/{number}/status", json={"status": "active"}, headers=admin.headers
    )
    problem(reopen, 422, "account_closed")

    actions = await system_session.scalars(
        select(AuditLog.action).where(AuditLog.tenant_id == bank.owner.tenant_id)
    )
    assert {
        "banking.account.opened",
        "banking.account.frozen",
        "banking.account.unfrozen",
        "banking.account.closed",
        "banking.transaction.deposit",
        "banking.transaction.withdrawal",
    } <= set(actions.all())
    events = await system_session.scalars(
        select(OutboxEvent.type).where(OutboxEvent.tenant_id == bank.owner.tenant_id)
    )
    seen = set(events.all())
    assert {
        "account.opened",
        "account.frozen",
        "account.unfrozen",
        "account.closed",
        "bank_transaction.created",
        "transfer.posted",
    } <= seen


async def test_idempotent_money_movement(
    client: httpx.AsyncClient, bank: Bank, system_session: AsyncSession
) -> None:
    op = bank.operator
    number = await new_account(client, op, deposit=1_000)
    headers = op.with_idempotency(f"wd-{uuid.uuid4().hex}")
    first = await _post(client, f"/accounts/{number}/withdraw", {"amount": inr(300)}, headers)
    again = await _post(client, f"/accounts/{number}/withdraw", {"amount": inr(300)}, headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    assert await balance(client, op, number) == 700
    other = await _post(client, f"/accounts/{number}/withdraw", {"amount": inr(400)}, headers)
    problem(other, 422, "idempotency_key_reused")
    assert await balance(client, op, number) == 700
    count = await system_session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.tenant_id == bank.owner.tenant_id, OutboxEvent.type == "transfer.posted")
    )
    assert count == 2  # the initial deposit and one withdrawal


async def test_statements(client: httpx.AsyncClient, bank: Bank) -> None:
    op = bank.operator
    number = await new_account(client, op, deposit=10_000)
    for amount in (1_234, 99):
        await _post(
            client, f"/accounts/{number}/withdraw", {"amount": inr(amount)}, op.with_idempotency()
        )
    await _post(
        client,
        f"/accounts/{number}/deposit",
        {"amount": inr(50), "description": "Refund"},
        op.with_idempotency(),
    )
    today = datetime.now(UTC).date().isoformat()
    params = {"from": today, "to": today}

    js = await client.get(
        f"/accounts/{number}/statement", params=params, headers=bank.viewer.headers
    )
    assert js.status_code == 200, js.text
    body = js.json()
    assert (body["from"], body["to"]) == (today, today)
    assert body["opening_balance"] == inr(0)
    assert [line["balance"]["amount"] for line in body["lines"]] == [10_000, 8_766, 8_667, 8_717]
    assert (
        body["closing_balance"]
        == inr(8_717)
        == (await client.get(f"/accounts/{number}/balance", headers=op.headers)).json()["posted"]
    )
    assert body["total_debits"] == inr(1_333)

    later = await client.get(
        f"/accounts/{number}/statement",
        params={"from": "2099-01-01", "to": "2099-01-31"},
        headers=op.headers,
    )
    assert later.json()["opening_balance"] == inr(8_717) and later.json()["lines"] == []

    csv_response = await client.get(
        f"/accounts/{number}/statement", params={**params, "format": "csv"}, headers=op.headers
    )
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [r["type"] for r in rows] == [
        "opening_balance",
        "deposit",
        "withdrawal",
        "withdrawal",
        "deposit",
        "closing_balance",
    ]
    assert rows[2]["debit"] == "12.34" and rows[-1]["balance"] == "87.17"

    pdf = await client.get(
        f"/accounts/{number}/statement", params={**params, "format": "pdf"}, headers=op.headers
    )
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert (
        re.search(rb"/Type /Pages\s*/Kids \[[^\]]*\]\s*/Count 1\b", pdf.content)
        or b"/Count 1" in pdf.content
    )

    backwards = await client.get(
        f"/accounts/{number}/statement",
        params={"from": today, "to": "2000-01-01"},
        headers=op.headers,
    )
    problem(backwards, 422, "invalid_statement_range")
    too_long = await client.get(
        f"/accounts/{number}/statement",
        params={"from": "2000-01-01", "to": "2003-01-01"},
        headers=op.headers,
    )
    problem(too_long, 422, "invalid_statement_range")
    problem(
        await client.get(
            f"/accounts/{number}/statement", params={"format": "xml"}, headers=op.headers
        ),
        422,
    )


async def test_csv_statement_cells_open_as_text(client: httpx.AsyncClient, bank: Bank) -> None:
    """Descriptions that a spreadsheet would run as formulas come out as text."""
    op = bank.operator
    number = await new_account(client, op, deposit=10_000)
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "  leading spaces"]
    for description in hostile:
        await _post(
            client,
            f"/accounts/{number}/deposit",
            {"amount": inr(1), "description": description},
            op.with_idempotency(),
        )
    today = datetime.now(UTC).date().isoformat()
    response = await client.get(
        f"/accounts/{number}/statement",
        params={"from": today, "to": today, "format": "csv"},
        headers=op.headers,
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    described = [r["description"] for r in rows if r["type"] == "deposit"][1:]
    assert described == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "  leading spaces",
    ]
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for r in rows for cell in [r["description"]]
    )
