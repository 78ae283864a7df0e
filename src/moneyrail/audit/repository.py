"""SQL for the audit log: appends under the chain-head lock, reads for lists and verification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.chain import GENESIS_HASH
from moneyrail.audit.models import AuditChainHead, AuditLog
from moneyrail.core.db import TENANT_SETTING


class AuditRepository:
    async def tenant_setting(self, session: AsyncSession) -> str:
        value = await session.scalar(
            text("SELECT current_setting(:name, true)"), {"name": TENANT_SETTING}
        )
        return str(value or "")

    async def lock_head(self, session: AsyncSession, tenant_id: str) -> tuple[int, str]:
        """Create the tenant's head if needed and lock it until the transaction ends.

        `ON CONFLICT DO UPDATE` takes the row lock and, under READ COMMITTED, returns the
        latest committed values once a concurrent appender has finished.
        """
        stmt = (
            pg_insert(AuditChainHead)
            .values(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH)
            .on_conflict_do_update(
                index_elements=[AuditChainHead.tenant_id],
                set_={"tenant_id": pg_insert(AuditChainHead).excluded.tenant_id},
            )
            .returning(AuditChainHead.seq, AuditChainHead.hash)
        )
        row = (await session.execute(stmt)).one()
        return int(row.seq), str(row.hash)

    async def append(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        rows: Sequence[dict[str, Any]],
        head_seq: int,
        head_hash: str,
        now: datetime,
    ) -> None:
        await session.execute(insert(AuditLog), list(rows))
        await session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.tenant_id == tenant_id)
            .values(seq=head_seq, hash=head_hash, updated_at=now)
        )

    async def chain_tenants(self, session: AsyncSession) -> list[str]:
        heads = select(AuditChainHead.tenant_id)
        logs = select(AuditLog.tenant_id).distinct()
        result = await session.scalars(heads.union(logs))
        return sorted(result)

    async def head(self, session: AsyncSession, tenant_id: str) -> AuditChainHead | None:
        return await session.get(AuditChainHead, tenant_id, populate_existing=True)

    async def chain_batch(
        self, session: AsyncSession, *, tenant_id: str, after_seq: int, limit: int
    ) -> Sequence[AuditLog]:
        stmt = (
            select(AuditLog)
            .where(AuditLog.tenant_id == tenant_id, AuditLog.seq > after_seq)
            .order_by(AuditLog.seq)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        return (await session.scalars(stmt)).all()

    def list_statement(
        self,
        *,
        tenant_id: str | None,
        actor_id: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Select[AuditLog]:
        stmt = select(AuditLog)
        if tenant_id is not None:
            stmt = stmt.where(AuditLog.tenant_id == tenant_id)
        if actor_id:
            stmt = stmt.where(AuditLog.actor_id == actor_id)
        if action:
            # `banking.account.*` matches every action under that prefix.
            if action.endswith("*"):
                prefix = action[:-1].replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
                stmt = stmt.where(AuditLog.action.like(prefix + "%"))
            else:
                stmt = stmt.where(AuditLog.action == action)
        if target_type:
            stmt = stmt.where(AuditLog.target_type == target_type)
        if target_id:
            stmt = stmt.where(AuditLog.target_id == target_id)
        if since is not None:
            stmt = stmt.where(AuditLog.created_at >= since)
        if until is not None:
            stmt = stmt.where(AuditLog.created_at < until)
        return stmt

    async def count_since(
        self, session: AsyncSession, *, tenant_id: str | None, since: datetime
    ) -> int:
        stmt = select(func.count()).where(AuditLog.created_at >= since)
        if tenant_id is not None:
            stmt = stmt.where(AuditLog.tenant_id == tenant_id)
        return int(await session.scalar(stmt) or 0)


repository = AuditRepository()
