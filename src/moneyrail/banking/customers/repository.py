"""SQL for bank customers; every statement filters by tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.customers.models import Customer
from moneyrail.banking.shared import Lock, locked
from moneyrail.core.db import Base
from moneyrail.core.pagination import PageParams, paginate_by_key


class CustomersRepository:
    async def add(self, session: AsyncSession, *rows: Base) -> None:
        session.add_all(rows)
        await session.flush()

    async def customer(
        self, session: AsyncSession, tenant_id: str, customer_id: str, *, lock: Lock = None
    ) -> Customer | None:
        stmt = select(Customer).where(Customer.tenant_id == tenant_id, Customer.id == customer_id)
        return await session.scalar(locked(stmt, lock))

    async def customer_by_email(
        self, session: AsyncSession, tenant_id: str, email: str
    ) -> Customer | None:
        return await session.scalar(
            select(Customer).where(
                Customer.tenant_id == tenant_id, func.lower(Customer.email) == email.lower()
            )
        )

    async def customers(
        self, session: AsyncSession, tenant_id: str, params: PageParams, *, query: str | None
    ) -> Sequence[Customer]:
        stmt = select(Customer).where(Customer.tenant_id == tenant_id)
        if query:
            needle = query.lower()
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # A substring search served by the trigram index.
            stmt = stmt.where(Customer.search_text.like(f"%{escaped}%", escape="\\"))
        return (await session.scalars(paginate_by_key(stmt, Customer.id.expression, params))).all()

    async def similar_customers(
        self, session: AsyncSession, tenant_id: str, query: str, *, limit: int
    ) -> Sequence[Customer]:
        """Near misses (typos) by trigram word similarity, best first."""
        needle = literal(query.lower())
        stmt = (
            select(Customer)
            .where(Customer.tenant_id == tenant_id, needle.op("<%")(Customer.search_text))
            .order_by(func.word_similarity(needle, Customer.search_text).desc(), Customer.id)
            .limit(limit)
        )
        return (await session.scalars(stmt)).all()


repository = CustomersRepository()
