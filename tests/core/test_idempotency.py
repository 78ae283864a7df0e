"""`@idempotent` routes: replay, reuse, required keys, concurrency, sealed responses, and
how the OpenAPI document declares the header; against the real database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.auth.deps import Authenticated, requires_credentials
from moneyrail.core.db import SessionDep, set_tenant
from moneyrail.core.idempotency import (
    IdempotencyKey,
    idempotency_mode,
    idempotent,
)
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import emit
from tests.conftest import problem
from tests.factories import TenantContext, make_live_tenant, make_tenant

SRC = Path(__file__).resolve().parents[2] / "src" / "moneyrail"


def _routes(app: FastAPI, *, delay: float = 0.0) -> None:
    @app.post("/api/v1/_test/effects", status_code=201)
    @idempotent(required=True)
    async def create(
        body: dict[str, int], subject: Authenticated, session: SessionDep, key: IdempotencyKey
    ) -> dict[str, object]:
        event = await emit(session, tenant_id=subject.tenant_id, type="test.effect", data=body)
        await asyncio.sleep(delay)
        return {"event_id": event.id, "value": body.get("value"), "key": key}

    @app.post("/api/v1/_test/optional")
    @idempotent()
    async def optional(subject: Authenticated) -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/api/v1/_test/conditional")
    @idempotent(required_when=lambda body: "id" not in body, required_detail="send an id")
    async def conditional(body: dict[str, str], subject: Authenticated) -> dict[str, str]:
        return body


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
    tenant = await make_tenant(session)
    headers = tenant.with_idempotency("k1")
    first = await client.post("/_test/effects", json={"value": 1}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["key"] == "k1"
    again = await client.post("/_test/effects", json={"value": 1}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert await _count(session, tenant.tenant_id) == 1


async def test_same_key_other_body_is_422(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    headers = (await make_tenant(session)).with_idempotency("k2")
    assert (await client.post("/_test/effects", json={"value": 1}, headers=headers)).is_success
    response = await client.post("/_test/effects", json={"value": 2}, headers=headers)
    problem(response, 422, "idempotency_key_reused")


async def test_keys_are_scoped_per_tenant(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant_a, tenant_b = await make_tenant(session), await make_tenant(session)
    a = await client.post(
        "/_test/effects", json={"value": 1}, headers=tenant_a.with_idempotency("k")
    )
    b = await client.post(
        "/_test/effects", json={"value": 1}, headers=tenant_b.with_idempotency("k")
    )
    assert a.json()["event_id"] != b.json()["event_id"]
    assert "idempotency-replayed" not in b.headers


async def test_missing_key_is_rejected_when_required(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    response = await client.post("/_test/effects", json={"value": 1}, headers=tenant.headers)
    problem(response, 400, "idempotency_key_required")
    assert (await client.post("/_test/optional", headers=tenant.headers)).json() == {"ok": "yes"}
    blank = await client.post("/_test/optional", headers={**tenant.headers, "Idempotency-Key": " "})
    problem(blank, 400, "idempotency_key_invalid")
    long = await client.post(
        "/_test/optional", headers={**tenant.headers, "Idempotency-Key": "k" * 256}
    )
    problem(long, 422, "validation_error")


async def test_key_required_only_when_the_predicate_holds(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    ok = await client.post("/_test/conditional", json={"id": "x"}, headers=tenant.headers)
    assert ok.json() == {"id": "x"}
    refused = await client.post("/_test/conditional", json={"a": "b"}, headers=tenant.headers)
    assert problem(refused, 400, "idempotency_key_required")["detail"] == "send an id"
    keyed = await client.post(
        "/_test/conditional", json={"a": "b"}, headers=tenant.with_idempotency()
    )
    assert keyed.json() == {"a": "b"}


async def test_concurrent_duplicate_is_409_and_one_effect(
    live_app: FastAPI, live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    _routes(live_app, delay=0.3)
    tenant = await make_live_tenant(engine)
    headers = tenant.with_idempotency("race")
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
    async with AsyncSession(engine) as s, s.begin():
        assert await _count(s, tenant.tenant_id) == 1


async def test_failed_request_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    headers = (await make_tenant(session)).with_idempotency("k3")
    bad = await client.post("/_test/effects", json={"value": "nope"}, headers=headers)
    problem(bad, 422, "validation_error")
    good = await client.post("/_test/effects", json={"value": 3}, headers=headers)
    assert good.status_code == 201 and "idempotency-replayed" not in good.headers


async def _stored_bodies(session: AsyncSession, tenant: TenantContext) -> list[str]:
    await set_tenant(session, tenant.tenant_id)
    rows = await session.execute(
        text("SELECT response_body::text FROM idempotency_keys WHERE tenant_id = :t"),
        {"t": tenant.tenant_id},
    )
    return [row[0] for row in rows]


async def test_api_key_creation_replays_without_storing_the_key(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    headers = tenant.with_idempotency("new-key-1")
    body = {"name": "ci", "role": "viewer"}
    first = await client.post("/api-keys", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["cache-control"] == "no-store"
    again = await client.post("/api-keys", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert again.json() == first.json()
    listed = (await client.get("/api-keys", headers=tenant.headers)).json()["data"]
    assert [k["name"] for k in listed].count("ci") == 1
    stored = await _stored_bodies(session, tenant)
    assert stored and all(first.json()["key"] not in b for b in stored)
    problem(
        await client.post("/api-keys", json={**body, "name": "other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return [
        (context.path_format, context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def test_openapi_declares_the_header_per_mode(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    seen = {"required": 0, "optional": 0}
    for path, route in _api_routes(app):
        mode = idempotency_mode(route)
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = paths[path][method.lower()]
            headers = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
            if mode is None:
                assert not headers, (method, path)
                continue
            assert len(headers) == 1 and headers[0]["in"] == "header", (method, path)
            assert headers[0]["required"] is (mode == "required"), (method, path)
            seen[mode] += 1
    assert seen["required"] >= 13 and seen["optional"] >= 20, seen
    assert paths["/api/v1/payments"]["post"]["parameters"][0]["required"] is True


# Authenticated POSTs that neither create nor move anything, with the reason.
NOT_KEYED = {
    "/api/v1/auth/change-password": "replaces a password; a repeat is harmless",
    "/api/v1/auth/introspect": "reads a token's state",
    "/api/v1/admin/webhooks/process-pending": "makes waiting deliveries due now",
}


def test_every_authenticated_post_accepts_a_key(app: FastAPI) -> None:
    missing = [
        path
        for path, route in _api_routes(app)
        if "POST" in route.methods
        and requires_credentials(route.dependant)
        and idempotency_mode(route) is None
        and path not in NOT_KEYED
    ]
    assert not missing


def test_no_endpoint_writes_idempotency_by_hand() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if not re.fullmatch(r"api(_\w+)?\.py", path.name):
            continue
        source = path.read_text()
        if "async def handler" in source or re.search(r"\bidem\w*\.run\(", source):
            offenders.append(str(path.relative_to(SRC)))
        if re.search(r"\.run\(\s*session", source):
            offenders.append(str(path.relative_to(SRC)))
    assert not offenders
