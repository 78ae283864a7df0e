"""SQL for bank branches; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.branches.models import Branch
from moneyrail.core.db import Base
from moneyrail.core.pagination import PageParams, paginate_by_key


class BranchesRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def branch_by_code(
        self, session: AsyncSession, tenant_id: str, code: str
    ) -> Branch | None:
        return await session.scalar(
            select(Branch).where(Branch.tenant_id == tenant_id, Branch.code == code)
        )

    async def branches(
        self, session: AsyncSession, tenant_id: str, params: PageParams
    ) -> Sequence[Branch]:
        stmt = select(Branch).where(Branch.tenant_id == tenant_id)
        return (await session.scalars(paginate_by_key(stmt, Branch.id.expression, params))).all()


repository = BranchesRepository()
