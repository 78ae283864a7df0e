"""SQL for the audit log: appends under the chain-head lock, reads for lists and verification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditChainHead, AuditLog
from moneyrail.core.db import driver

# Runs on the driver connection (at every audited commit).
_APPEND = "SELECT audit_append($1, $2::jsonb, $3)"


class AuditRepository:
    async def append(
        self, session: AsyncSession, *, tenant_id: str, rows: str, now: datetime
    ) -> int:
        """Append rows (a JSON array, oldest first) to the tenant's chain in one statement.

        `audit_append` locks the chain head (`ON CONFLICT DO UPDATE` on a missing head, so
        under READ COMMITTED it continues from the latest committed head once a concurrent
        appender has finished), links and inserts the rows, moves the head and restores the
        transaction's tenant binding. Returns the new head's seq.
        """
        seq = await (await driver(session)).fetchval(_APPEND, tenant_id, rows, now)
        return int(seq)

    async def chain_tenants(self, session: AsyncSession) -> list[str]:
        heads = select(AuditChainHead.tenant_id)
        logs = select(AuditLog.tenant_id).distinct()
        result = await session.scalars(heads.union(logs))
        return sorted(result)

    async def head(self, session: AsyncSession, tenant_id: str) -> AuditChainHead | None:
        return await session.get(AuditChainHead, tenant_id, populate_existing=True)

    async def hash_at(self, session: AsyncSession, *, tenant_id: str, seq: int) -> str | None:
        stmt = select(AuditLog.hash).where(AuditLog.tenant_id == tenant_id, AuditLog.seq == seq)
        return (await session.execute(stmt)).scalar_one_or_none()

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
