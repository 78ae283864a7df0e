from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.banking.conftest import Bank, new_account, new_customer
from tests.conftest import problem
from tests.factories import make_tenant


async def test_branches(client: httpx.AsyncClient, bank: Bank) -> None:
    body = {"code": "br001", "name": "Fort, Mumbai", "ifsc": "MRBK0000001", "city": "Mumbai"}
    created = await client.post("/branches", json=body, headers=bank.admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "BR001"
    problem(
        await client.post("/branches", json=body, headers=bank.admin.headers), 409, "branch_exists"
    )
    problem(
        await client.post("/branches", json=body, headers=bank.operator.headers), 403, "forbidden"
    )
    bad = await client.post("/branches", json={**body, "ifsc": "nope"}, headers=bank.admin.headers)
    problem(bad, 422, "validation_error")
    listed = await client.get("/branches", headers=bank.viewer.headers)
    assert [b["code"] for b in listed.json()["data"]] == ["BR001"]
    # An account at the branch takes the branch's IFSC by default.
    number = await new_account(client, bank.operator, branch_code="BR001")
    account = (await client.get(f"/accounts/{number}", headers=bank.viewer.headers)).json()
    assert (account["branch_code"], account["ifsc_code"]) == ("BR001", "MRBK0000001")
    missing = await client.post(
        "/accounts",
        json={
            "customer_id": account["customer_id"],
            "account_type": "SAVINGS",
            "branch_code": "XX9",
        },
        headers=bank.operator.headers,
    )
    problem(missing, 404, "branch_not_found")


async def test_customer_lifecycle(client: httpx.AsyncClient, bank: Bank) -> None:
    body = {
        "first_name": "Ravi",
        "last_name": "Shankar",
        "date_of_birth": "1988-04-12",
        "gender": "MALE",
        "email": "ravi.shankar@example.com",
        "phone": "+919900112233",
        "address_line1": "12 MG Road",
        "city": "Bengaluru",
        "state": "Karnataka",
        "postal_code": "560001",
    }
    created = await client.post("/customers", json=body, headers=bank.operator.headers)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["kyc_status"] == "PENDING" and customer["status"] == "active"
    cid = customer["id"]
    problem(
        await client.post("/customers", json=body, headers=bank.operator.headers),
        409,
        "customer_exists",
    )
    problem(await client.post("/customers", json=body, headers=bank.viewer.headers), 403)

    updated = await client.put(
        f"/customers/{cid}",
        json={"kyc_status": "VERIFIED", "city": "Mysuru"},
        headers=bank.operator.headers,
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["kyc_status"], updated.json()["city"]) == ("VERIFIED", "Mysuru")
    assert updated.json()["first_name"] == "Ravi"

    problem(
        await client.patch(
            f"/customers/{cid}/status", json={"status": "blocked"}, headers=bank.operator.headers
        ),
        403,
    )
    blocked = await client.patch(
        f"/customers/{cid}/status",
        json={"status": "blocked", "reason": "fraud check"},
        headers=bank.admin.headers,
    )
    assert blocked.json()["status"] == "blocked"
    refused = await client.post(
        "/accounts",
        json={"customer_id": cid, "account_type": "SAVINGS"},
        headers=bank.operator.headers,
    )
    problem(refused, 422, "customer_not_active")

    fetched = await client.get(f"/customers/{cid}", headers=bank.viewer.headers)
    assert fetched.json()["status_reason"] == "fraud check"
    accounts = await client.get(f"/customers/{cid}/accounts", headers=bank.viewer.headers)
    assert accounts.json() == {"data": [], "next_cursor": None}


async def test_search(client: httpx.AsyncClient, bank: Bank) -> None:
    await new_customer(
        client,
        bank.operator,
        first_name="Priya",
        last_name="Sharma",
        email="priya@example.com",
        phone="+919811111111",
    )
    await new_customer(
        client,
        bank.operator,
        first_name="Karan",
        last_name="Mehta",
        email="karan@example.org",
        phone="+919822222222",
    )

    async def names(q: str) -> list[str]:
        response = await client.get("/customers", params={"q": q}, headers=bank.viewer.headers)
        assert response.status_code == 200, response.text
        return sorted(c["first_name"] for c in response.json()["data"])

    assert await names("shar") == ["Priya"]
    assert await names("SHARMAA") == ["Priya"]  # a typo still finds her
    assert await names("example.org") == ["Karan"]
    assert await names("9822222") == ["Karan"]
    assert await names("100%_") == []
    assert len(await names("example")) == 2
    page = await client.get("/customers", params={"limit": 1}, headers=bank.viewer.headers)
    assert len(page.json()["data"]) == 1 and page.json()["next_cursor"]


async def test_other_tenants_see_nothing(
    client: httpx.AsyncClient, bank: Bank, session: AsyncSession
) -> None:
    cid = await new_customer(client, bank.operator)
    number = await new_account(client, bank.operator, customer_id=cid, deposit=500)
    stranger = await make_tenant(session)
    problem(
        await client.get(f"/customers/{cid}", headers=stranger.headers), 404, "customer_not_found"
    )
    problem(
        await client.get(f"/accounts/{number}", headers=stranger.headers), 404, "account_not_found"
    )
    response = await client.post(
        f"/accounts/{number}/withdraw",
        json={"amount": {"amount": 100, "currency": "INR"}},
        headers=stranger.with_idempotency(),
    )
    problem(response, 404, "account_not_found")
    assert (await client.get("/customers", headers=stranger.headers)).json()["data"] == []
