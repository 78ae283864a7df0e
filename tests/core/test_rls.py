from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.core.models import OutboxEvent
from moneyrail.core.outbox import emit


async def _visible(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def test_app_role_is_not_superuser(session: AsyncSession) -> None:
    row = (
        await session.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
    ).one()
    assert row == (False, False)


async def test_tenant_sees_only_its_rows(session: AsyncSession) -> None:
    await set_tenant(session, "ten_a")
    await emit(session, tenant_id="ten_a", type="t.a", data={})
    await set_tenant(session, "ten_b")
    await emit(session, tenant_id="ten_b", type="t.b", data={})
    assert await _visible(session) == 1
    await set_tenant(session, "ten_a")
    assert await _visible(session) == 1
    await bypass_tenant_scope(session)
    assert await _visible(session) >= 2


async def test_no_tenant_sees_nothing(session: AsyncSession) -> None:
    await bypass_tenant_scope(session)
    await emit(session, tenant_id="ten_c", type="t.c", data={})
    await session.execute(text("SELECT set_config('app.bypass_rls', '', true)"))
    assert await _visible(session) == 0


async def test_writing_for_another_tenant_is_refused(session: AsyncSession) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    await set_tenant(session, "ten_a")
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await emit(session, tenant_id="ten_b", type="t.x", data={})
