"""The transactional outbox: events are rows written in the business transaction.

A worker delivers them after commit, so an event exists exactly when its change does.
Handlers of events are registered in `core.jobs`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import REQUEST_SESSION, driver, json_column, json_rows, on_before_commit
from moneyrail.core.ids import new_id

EVENT_ID_PREFIX = "evt"


class EventEnvelope(BaseModel):
    id: str
    type: str
    created_at: datetime
    tenant_id: str
    data: dict[str, Any]


async def emit(
    session: AsyncSession, *, tenant_id: str, type: str, data: dict[str, Any]
) -> EventEnvelope:
    """Write one event into the outbox within the caller's transaction.

    In a request's session the row is queued and all of the request's events are written
    with one statement just before it commits (`on_before_commit`); elsewhere (jobs, CLI,
    services called directly) it is written at once. Either way it commits with the change.
    """
    envelope = EventEnvelope.model_construct(
        id=new_id(EVENT_ID_PREFIX),
        type=type,
        created_at=datetime.now(UTC),
        tenant_id=tenant_id,
        data=data,
    )
    payload = to_json(
        {
            "id": envelope.id,
            "type": type,
            "created_at": envelope.created_at,
            "tenant_id": tenant_id,
            "data": data,
        }
    ).decode()
    if session.info.get(REQUEST_SESSION):
        queued: list[tuple[str, str, str, str, datetime]] | None = session.info.get(_QUEUE_KEY)
        if queued is None:
            queued = session.info[_QUEUE_KEY] = []
            on_before_commit(session, _QUEUE_KEY, _write_queued)
        queued.append((envelope.id, tenant_id, type, payload, envelope.created_at))
        return envelope
    await (await driver(session)).execute(
        INSERT_ONE_SQL, envelope.id, tenant_id, type, payload, envelope.created_at
    )
    return envelope


_QUEUE_KEY = "moneyrail.outbox"


async def _write_queued(session: AsyncSession) -> None:
    queued: list[tuple[str, str, str, str, datetime]] = session.info.pop(_QUEUE_KEY, [])
    if queued:
        ids, tenants, types, payloads, times = zip(*queued, strict=True)
        await (await driver(session)).execute(
            INSERT_QUEUED_SQL,
            json_column(ids),
            json_column(tenants),
            json_column(types),
            json_column(payloads),
            json_column([moment.isoformat() for moment in times]),
        )


# A request's queued events, in the order they were emitted.
INSERT_QUEUED_SQL = f"""
    INSERT INTO outbox_events (id, tenant_id, type, payload, created_at)
    SELECT u.id, u.tenant_id, u.type, u.payload::jsonb, u.created_at::timestamptz
    FROM {json_rows("id", "tenant_id", "type", "payload", "created_at", start=1)}
"""


INSERT_ONE_SQL = (
    "INSERT INTO outbox_events (id, tenant_id, type, payload, created_at)"
    " VALUES ($1, $2, $3, $4::jsonb, $5)"
)


# One statement for any number of events: the rows travel as arrays, not one bind per row.
INSERT_MANY_SQL = f"""
    INSERT INTO outbox_events (id, tenant_id, type, payload, created_at)
    SELECT u.id, $1, u.type, u.payload::jsonb, $2
    FROM {json_rows("id", "type", "payload", start=3)}
"""


async def emit_many(
    session: AsyncSession, *, tenant_id: str, events: list[tuple[str, dict[str, Any]]]
) -> None:
    """Write several events with one statement (batch endpoints).

    The envelopes are serialised directly (pydantic-core's JSON mode, the same output as
    `EventEnvelope.model_dump(mode="json")`) rather than through a model per event.
    """
    if not events:
        return
    now = datetime.now(UTC)
    ids = [new_id(EVENT_ID_PREFIX) for _ in events]
    payloads = [
        to_json(
            {"id": event_id, "type": type_, "created_at": now, "tenant_id": tenant_id, "data": data}
        ).decode()
        for event_id, (type_, data) in zip(ids, events, strict=True)
    ]
    await (await driver(session)).execute(
        INSERT_MANY_SQL,
        tenant_id,
        now,
        json_column(ids),
        json_column([type_ for type_, _ in events]),
        json_column(payloads),
    )
