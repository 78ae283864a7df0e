"""Statements on the driver connection share the session's transaction and its errors."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import TENANT_SETTING, driver, set_tenant
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import emit


async def test_first_statement_on_the_driver_runs_inside_the_transaction(
    engine: AsyncEngine,
) -> None:
    # A fresh session whose first statement goes to the driver: the setting is
    # transaction-local, so it is only visible afterwards if BEGIN came before it.
    async with AsyncSession(engine) as session, session.begin():
        await set_tenant(session, "ten_driver")
        seen = await session.scalar(text(f"SELECT current_setting('{TENANT_SETTING}', true)"))
        assert seen == "ten_driver"
    async with AsyncSession(engine) as session, session.begin():
        assert not await session.scalar(text(f"SELECT current_setting('{TENANT_SETTING}', true)"))


async def test_driver_work_rolls_back_with_the_session(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        async with session.begin():
            await set_tenant(session, "ten_rollback")
            await emit(session, tenant_id="ten_rollback", type="t.rolled_back", data={})
            await session.rollback()
        async with session.begin():
            await set_tenant(session, "ten_rollback")
            count = await session.scalar(
                text("SELECT count(*) FROM outbox_events WHERE type = 't.rolled_back'")
            )
            assert count == 0


async def test_pending_orm_rows_are_flushed_before_a_driver_statement(
    session: AsyncSession,
) -> None:
    await set_tenant(session, "ten_flush")
    await emit(session, tenant_id="ten_flush", type="t.first", data={"n": 1})
    session.add(OutboxEvent(id="evt_pending_orm", tenant_id="ten_flush", type="t.orm", payload={}))
    # The driver statement runs after the pending insert, so it sees the row.
    found = await (await driver(session)).fetchval(
        "SELECT count(*) FROM outbox_events WHERE id = 'evt_pending_orm'"
    )
    assert found == 1


async def test_driver_errors_are_sqlalchemy_errors(session: AsyncSession) -> None:
    await set_tenant(session, "ten_errors")
    connection = await driver(session)
    insert = (
        "INSERT INTO outbox_events (id, tenant_id, type, payload, created_at)"
        " VALUES ('evt_dup', 'ten_errors', 't', '{}'::jsonb, now())"
    )
    await connection.execute(insert)
    with pytest.raises(IntegrityError) as duplicate:
        async with session.begin_nested():
            await (await driver(session)).execute(insert)
    assert getattr(duplicate.value.orig, "sqlstate", None) == "23505"
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await (await driver(session)).execute(insert.replace("'ten_errors'", "'ten_other'"))
