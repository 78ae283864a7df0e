"""Signed deliveries verified by off-the-shelf verifiers, retries, dead letter, manual retry."""

from __future__ import annotations

import httpx
import pytest
import standardwebhooks
import svix.webhooks
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import bypass_tenant_scope
from moneyrail.worker.runner import Worker
from tests.factories import make_live_tenant
from tests.webhooks.conftest import emit_committed
from tests.webhooks.receiver import Receiver, running_receiver


async def _endpoint(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, **extra: object
) -> dict:
    response = await client.post("/webhooks", json={"url": url, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _delivery_status(engine: AsyncEngine, event_id: str) -> list[tuple[str, int]]:
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        rows = await session.execute(
            text("SELECT status, attempts FROM webhook_deliveries WHERE event_id = :e"),
            {"e": event_id},
        )
        return [(r.status, r.attempts) for r in rows]


async def test_every_delivery_verifies_with_standard_webhooks_including_rotation(
    live_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver() as receiver:
        endpoint = await _endpoint(
            live_client, tenant.headers, receiver.url, event_types=["transfer.*"]
        )
        old_secret = endpoint["secret"]
        first = [
            await emit_committed(
                engine, tenant_id=tenant.tenant_id, type="transfer.posted", data={"n": i}
            )
            for i in range(3)
        ]
        # Not subscribed: never delivered.
        await emit_committed(engine, tenant_id=tenant.tenant_id, type="payment.captured", data={})

        async def got(n: int) -> bool:
            return len(receiver.ok()) >= n

        await worker.drain(timeout_seconds=20, until=lambda: got(3))
        assert {r.webhook_id for r in receiver.ok()} == set(first)
        for r in receiver.ok():
            payload = standardwebhooks.Webhook(old_secret).verify(r.body, r.headers)
            assert payload["id"] == r.webhook_id and payload["type"] == "transfer.posted"
            assert payload["tenant_id"] == tenant.tenant_id
            svix.webhooks.Webhook(old_secret).verify(r.body, r.headers)

        rotated = await live_client.post(
            f"/webhooks/{endpoint['id']}/rotate-secret", headers=tenant.headers
        )
        new_secret = rotated.json()["secret"]
        during = await emit_committed(
            engine, tenant_id=tenant.tenant_id, type="transfer.reversed", data={}
        )
        await worker.drain(timeout_seconds=20, until=lambda: got(4))
        delivery = receiver.by_id(during)[0]
        assert len(delivery.headers["webhook-signature"].split(" ")) == 2
        # Receivers holding either secret accept it during the overlap.
        standardwebhooks.Webhook(new_secret).verify(delivery.body, delivery.headers)
        standardwebhooks.Webhook(old_secret).verify(delivery.body, delivery.headers)
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(old_secret).verify(delivery.body + b" ", delivery.headers)

        # After the overlap ends only the new secret signs.
        await live_client.post(
            f"/webhooks/{endpoint['id']}/rotate-secret",
            json={"overlap_hours": 0},
            headers=tenant.headers,
        )
        assert len(receiver.received) == 4
    assert len(receiver.received) == 4


async def test_down_three_times_then_up_delivers_once_on_attempt_four(
    live_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver(fail_first=3)) as receiver:
        await _endpoint(live_client, tenant.headers, receiver.url)
        event_id = await emit_committed(
            engine, tenant_id=tenant.tenant_id, type="payment.captured", data={"amount": 100}
        )

        async def delivered() -> bool:
            return await _delivery_status(engine, event_id) == [("delivered", 4)]

        await worker.drain(timeout_seconds=20, until=delivered)
        requests = receiver.by_id(event_id)
        assert [r.status for r in requests] == [503, 503, 503, 200]
        assert {r.headers["webhook-id"] for r in requests} == {event_id}
        assert len(receiver.ok()) == 1

    logs = await live_client.get(
        "/webhooks/logs", params={"event_type": "payment.captured"}, headers=tenant.headers
    )
    [entry] = logs.json()["data"]
    detail = (
        await live_client.get(f"/webhooks/deliveries/{entry['id']}", headers=tenant.headers)
    ).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [503, 503, 503, 200]
    assert all(a["latency_ms"] is not None for a in detail["attempt_log"])
    # The receiver is on loopback (private targets are allowed in tests): its answers are
    # not shown to the tenant, only their statuses.
    assert [a["response_body"] for a in detail["attempt_log"]] == [None] * 4
    assert detail["payload"]["id"] == event_id


async def test_down_for_good_dead_letters_then_manual_retry_delivers(
    live_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver(down=True)) as receiver:
        await _endpoint(live_client, tenant.headers, receiver.url)
        event_id = await emit_committed(
            engine, tenant_id=tenant.tenant_id, type="refund.succeeded", data={}
        )

        async def failed() -> bool:
            return await _delivery_status(engine, event_id) == [("failed", 6)]

        await worker.drain(timeout_seconds=20, until=failed)
        assert len(receiver.by_id(event_id)) == 6  # the first attempt and 5 retries

        failed_logs = await live_client.get(
            "/webhooks/logs", params={"status": "failed"}, headers=tenant.headers
        )
        [entry] = failed_logs.json()["data"]
        receiver.down = False
        retried = await live_client.post(
            f"/webhooks/deliveries/{entry['id']}/retry", headers=tenant.headers
        )
        assert retried.status_code == 202, retried.text
        again = await live_client.post(
            f"/webhooks/deliveries/{entry['id']}/retry", headers=tenant.headers
        )
        assert again.status_code == 409

        async def delivered() -> bool:
            return await _delivery_status(engine, event_id) == [("delivered", 7)]

        await worker.drain(timeout_seconds=20, until=delivered)
        assert [r.status for r in receiver.by_id(event_id)] == [503] * 6 + [200]
        assert {r.webhook_id for r in receiver.received} == {event_id}


async def test_test_event_and_process_pending(
    live_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver() as receiver:
        endpoint = await _endpoint(live_client, tenant.headers, receiver.url)
        queued = await live_client.post(f"/webhooks/{endpoint['id']}/test", headers=tenant.headers)
        assert queued.status_code == 202
        pending = await live_client.post(
            "/admin/webhooks/process-pending", json={}, headers=tenant.headers
        )
        assert pending.status_code == 200 and pending.json()["scheduled"] == 1

        async def got() -> bool:
            return len(receiver.ok()) == 1

        await worker.drain(timeout_seconds=20, until=got)
        body = standardwebhooks.Webhook(endpoint["secret"]).verify(
            receiver.ok()[0].body, receiver.ok()[0].headers
        )
        assert body["type"] == "webhook.test"


async def test_delivery_sends_the_original_host_to_the_pinned_address(
    live_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver()) as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        await _endpoint(live_client, tenant.headers, url)
        event_id = await emit_committed(
            engine, tenant_id=tenant.tenant_id, type="payment.captured", data={"amount": 1}
        )
        await worker.drain(timeout_seconds=20, until=lambda: _received(receiver, event_id))
        [request] = receiver.by_id(event_id)
        assert request.headers["host"] == url.split("/")[2]


async def _received(receiver: Receiver, event_id: str) -> bool:
    return bool(receiver.by_id(event_id))
