from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI, Header
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import SessionDep, set_tenant
from moneyrail.core.idempotency import IdempotencyOptional, IdempotencyRequired
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import emit
from tests.conftest import problem


def _routes(app: FastAPI, *, delay: float = 0.0) -> None:
    @app.post("/api/v1/_test/effects", status_code=201)
    async def create(
        body: dict[str, int],
        session: SessionDep,
        idem: IdempotencyRequired,
        x_tenant: str = Header(),
    ) -> object:
        await set_tenant(session, x_tenant)

        async def handler() -> dict[str, object]:
            event = await emit(session, tenant_id=x_tenant, type="test.effect", data=body)
            await asyncio.sleep(delay)
            return {"event_id": event.id, "value": body.get("value")}

        return await idem.run(session, tenant_id=x_tenant, handler=handler, status_code=201)

    @app.post("/api/v1/_test/optional")
    async def optional(session: SessionDep, idem: IdempotencyOptional) -> object:
        async def handler() -> dict[str, str]:
            return {"ok": "yes"}

        return await idem.run(session, tenant_id="ten_x", handler=handler)


async def _count(session: AsyncSession, tenant: str) -> int:
    await set_tenant(session, tenant)
    return int(
        await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.tenant_id == tenant)
        )
        or 0
    )


async def test_same_key_same_body_replays(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    headers = {"Idempotency-Key": "k1", "X-Tenant": "ten_a"}
    first = await client.post("/_test/effects", json={"value": 1}, headers=headers)
    assert first.status_code == 201
    again = await client.post("/_test/effects", json={"value": 1}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert await _count(session, "ten_a") == 1


async def test_same_key_other_body_is_422(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    headers = {"Idempotency-Key": "k2", "X-Tenant": "ten_a"}
    assert (await client.post("/_test/effects", json={"value": 1}, headers=headers)).is_success
    response = await client.post("/_test/effects", json={"value": 2}, headers=headers)
    problem(response, 422, "idempotency_key_reused")


async def test_keys_are_scoped_per_tenant(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    a = await client.post(
        "/_test/effects", json={"value": 1}, headers={"Idempotency-Key": "k", "X-Tenant": "ten_a"}
    )
    b = await client.post(
        "/_test/effects", json={"value": 1}, headers={"Idempotency-Key": "k", "X-Tenant": "ten_b"}
    )
    assert a.json()["event_id"] != b.json()["event_id"]
    assert "idempotency-replayed" not in b.headers


async def test_missing_key_is_rejected_when_required(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _routes(app)
    response = await client.post("/_test/effects", json={"value": 1}, headers={"X-Tenant": "t"})
    problem(response, 400, "idempotency_key_required")
    assert (await client.post("/_test/optional")).json() == {"ok": "yes"}


async def test_concurrent_duplicate_is_409_and_one_effect(
    live_app: FastAPI, live_client: httpx.AsyncClient, engine: object
) -> None:
    _routes(live_app, delay=0.3)
    tenant = f"ten_{uuid.uuid4().hex[:12]}"
    headers = {"Idempotency-Key": "race", "X-Tenant": tenant}
    responses = await asyncio.gather(
        *(live_client.post("/_test/effects", json={"value": 7}, headers=headers) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 4, statuses
    for r in responses:
        if r.status_code == 409:
            problem(r, 409, "idempotency_key_in_use")
    replay = await live_client.post("/_test/effects", json={"value": 7}, headers=headers)
    assert replay.headers["idempotency-replayed"] == "true"
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(engine, AsyncEngine)
    async with AsyncSession(engine) as s, s.begin():
        assert await _count(s, tenant) == 1


async def test_failed_request_stores_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    headers = {"Idempotency-Key": "k3", "X-Tenant": "ten_a"}
    bad = await client.post("/_test/effects", json={"value": "nope"}, headers=headers)
    problem(bad, 422, "validation_error")
    good = await client.post("/_test/effects", json={"value": 3}, headers=headers)
    assert good.status_code == 201 and "idempotency-replayed" not in good.headers
