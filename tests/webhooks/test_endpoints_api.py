from __future__ import annotations

import httpx

from moneyrail.auth.roles import Role
from tests.conftest import problem
from tests.factories import add_api_key, make_tenant


async def test_create_shows_secret_once_and_lists(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["transfer.posted", "payment.*"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["payment.*", "transfer.posted"]
    fetched = await client.get(f"/webhooks/{body['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    listed = await client.get("/webhooks", headers=tenant.headers)
    assert [w["id"] for w in listed.json()["data"]] == [body["id"]]


async def test_patch_delete_and_tenant_isolation(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    other = await make_tenant(session)
    created = (
        await client.post("/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=tenant.headers)
    ).json()
    problem(await client.get(f"/webhooks/{created['id']}", headers=other.headers), 404)
    patched = await client.patch(
        f"/webhooks/{created['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert (
        await client.delete(f"/webhooks/{created['id']}", headers=tenant.headers)
    ).status_code == 204
    problem(await client.get(f"/webhooks/{created['id']}", headers=tenant.headers), 404)


async def test_validation(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    problem(
        await client.post("/webhooks", json={"url": "ftp://example.com/x"}, headers=tenant.headers),
        422,
        "webhook_url_refused",
    )
    problem(
        await client.post(
            "/webhooks",
            json={"url": "http://127.0.0.1:9/x", "event_types": ["nope.nothing"]},
            headers=tenant.headers,
        ),
        422,
        "unknown_event_type",
    )


async def test_viewer_cannot_write(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    problem(
        await client.post(
            "/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=viewer.headers
        ),
        403,
    )
    assert (await client.get("/webhooks", headers=viewer.headers)).status_code == 200


async def test_rotate_secret_returns_new_secret(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    created = (
        await client.post("/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=tenant.headers)
    ).json()
    rotated = await client.post(f"/webhooks/{created['id']}/rotate-secret", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None


async def test_catalogue_in_openapi(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    listed = await client.get("/webhooks/events", headers=tenant.headers)
    types = {e["type"] for e in listed.json()["data"]}
    assert {"transfer.posted", "hold.voided", "account.frozen", "loan.disbursed"} <= types
    schema = (await client.get("http://testserver/openapi.json")).json()
    description = schema["paths"]["/api/v1/webhooks/events"]["get"]["description"]
    assert "transfer.posted" in description and "message.delivered" in description


async def test_deliveries_are_tenant_scoped(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    other = await make_tenant(session)
    created = (
        await client.post("/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=tenant.headers)
    ).json()
    queued = await client.post(f"/webhooks/{created['id']}/test", headers=tenant.headers)
    assert queued.status_code == 202
    delivery_id = queued.json()["id"]
    detail = await client.get(f"/webhooks/deliveries/{delivery_id}", headers=tenant.headers)
    assert detail.status_code == 200 and detail.json()["payload"]["type"] == "webhook.test"
    problem(await client.get(f"/webhooks/deliveries/{delivery_id}", headers=other.headers), 404)
    problem(
        await client.post(f"/webhooks/deliveries/{delivery_id}/retry", headers=other.headers), 404
    )
    problem(
        await client.post(f"/webhooks/deliveries/{delivery_id}/retry", headers=tenant.headers), 409
    )
    assert (await client.get("/webhooks/logs", headers=other.headers)).json()["data"] == []
    logs = await client.get(
        "/webhooks/logs", params={"endpoint_id": created["id"]}, headers=tenant.headers
    )
    assert [d["id"] for d in logs.json()["data"]] == [delivery_id]


async def test_rotating_and_deleting_need_the_admin_role(
    client: httpx.AsyncClient, session
) -> None:
    tenant = await make_tenant(session, role=Role.owner)
    operator = await add_api_key(session, tenant, role=Role.operator)
    admin = await add_api_key(session, tenant, role=Role.admin)
    created = await client.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=operator.headers
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    rotate = f"/webhooks/{endpoint['id']}/rotate-secret"
    problem(await client.post(rotate, headers=operator.with_idempotency()), 403)
    problem(await client.delete(f"/webhooks/{endpoint['id']}", headers=operator.headers), 403)
    # The operator's refusals changed nothing: the endpoint and its secret are as they were.
    fetched = await client.get(f"/webhooks/{endpoint['id']}", headers=operator.headers)
    assert fetched.status_code == 200 and fetched.json()["previous_secret_expires_at"] is None

    rotated = await client.post(rotate, headers=admin.with_idempotency())
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != endpoint["secret"]
    deleted = await client.delete(f"/webhooks/{endpoint['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert (
        await client.get(f"/webhooks/{endpoint['id']}", headers=admin.headers)
    ).status_code == 404
