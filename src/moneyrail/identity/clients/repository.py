"""SQL for OAuth2 clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.identity.clients.models import OAuthClient
from moneyrail.identity.tenants.repository import across_tenants, add


class ClientRepository:
    across_tenants = staticmethod(across_tenants)

    async def add(self, session: AsyncSession, row: OAuthClient) -> None:
        await add(session, row)

    async def client(
        self, session: AsyncSession, client_id: str, *, tenant_id: str | None = None
    ) -> OAuthClient | None:
        stmt = select(OAuthClient).where(OAuthClient.id == client_id)
        if tenant_id is not None:
            stmt = stmt.where(OAuthClient.tenant_id == tenant_id)
        return await session.scalar(stmt.execution_options(populate_existing=True))

    def clients_of(self, tenant_id: str) -> Select[OAuthClient]:
        return select(OAuthClient).where(OAuthClient.tenant_id == tenant_id)

    async def count_clients(self, session: AsyncSession, tenant_id: str | None) -> int:
        stmt = select(func.count()).where(OAuthClient.status == "active")
        if tenant_id is not None:
            stmt = stmt.where(OAuthClient.tenant_id == tenant_id)
        return int(await session.scalar(stmt) or 0)

    async def touch_client(
        self, session: AsyncSession, client: OAuthClient, when: datetime
    ) -> None:
        await session.execute(
            update(OAuthClient)
            .where(OAuthClient.tenant_id == client.tenant_id, OAuthClient.id == client.id)
            .values(last_used_at=when)
        )


repository = ClientRepository()
