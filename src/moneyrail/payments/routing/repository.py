"""SQL for routing rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import driver
from moneyrail.payments.models import (
    RoutingConfig,
)

_ROUTING = "SELECT rules, default_providers FROM payment_routing WHERE tenant_id = $1"


class RoutingRepository:
    async def routing(self, session: AsyncSession, *, tenant_id: str) -> RoutingConfig | None:
        return await session.get(RoutingConfig, tenant_id)

    async def routing_table(
        self, session: AsyncSession, *, tenant_id: str
    ) -> tuple[list[dict[str, Any]], list[str]] | None:
        """(rules, default providers) as stored, for routing a payment; None without any."""
        row = await (await driver(session)).fetchrow(_ROUTING, tenant_id)
        return None if row is None else (row[0], row[1])

    async def save_routing(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        rules: list[dict[str, Any]],
        default_providers: list[str],
    ) -> RoutingConfig:
        stmt = insert(RoutingConfig).values(
            tenant_id=tenant_id, rules=rules, default_providers=default_providers
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RoutingConfig.tenant_id],
                set_={
                    "rules": stmt.excluded.rules,
                    "default_providers": stmt.excluded.default_providers,
                    "updated_at": func.now(),
                },
            )
        )
        row = await session.get(RoutingConfig, tenant_id, populate_existing=True)
        assert row is not None
        return row


repository = RoutingRepository()
