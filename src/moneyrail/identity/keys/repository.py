"""SQL for API keys."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import driver
from moneyrail.identity.keys.models import ApiKey
from moneyrail.identity.tenants.repository import add

# Setting names are constants; the only input is the bound :lookup parameter.
# Every authenticated request, on the driver: the database function looks the key up across
# tenants and binds the transaction to the key's tenant (migration identity_key_lookup_fn).
AUTHENTICATE_KEY_SQL = (
    "SELECT id, tenant_id, key_hash, environment, role, scopes, client_id, expires_at,"
    " last_used_at, revoked_at FROM api_key_authenticate($1)"
)


class _KeyRow(NamedTuple):
    id: str
    tenant_id: str
    key_hash: str
    environment: str
    role: str
    scopes: list[str] | None
    client_id: str | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyRepository:
    async def add(self, session: AsyncSession, row: ApiKey) -> None:
        await add(session, row)

    async def api_key_by_lookup(self, session: AsyncSession, lookup: str) -> ApiKey | None:
        return await session.scalar(select(ApiKey).where(ApiKey.lookup == lookup))

    async def authenticate_key_row(self, session: AsyncSession, lookup: str) -> _KeyRow | None:
        """The key row for `lookup`, binding the transaction to its tenant, in one statement.

        The lookup crosses tenants (the tenant is not known yet): the database function scans
        with the row-level-security bypass on and turns it off before it returns, so nothing
        after it sees other tenants. An unknown key returns None and binds no tenant.
        """
        row = await (await driver(session)).fetchrow(AUTHENTICATE_KEY_SQL, lookup)
        if row is None:
            return None
        return _KeyRow(*(row[name] for name in _KeyRow._fields))

    async def touch_api_key(self, session: AsyncSession, key_id: str, when: datetime) -> None:
        """Record use, skipping the row if another request holds it: concurrent requests with
        one key never queue on this bookkeeping write."""
        locked = select(ApiKey.id).where(ApiKey.id == key_id).with_for_update(skip_locked=True)
        await session.execute(
            update(ApiKey).where(ApiKey.id.in_(locked.scalar_subquery())).values(last_used_at=when)
        )

    async def api_key(self, session: AsyncSession, *, tenant_id: str, key_id: str) -> ApiKey | None:
        return await session.scalar(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
        )

    def api_keys_of(self, tenant_id: str, *, client_id: str | None = None) -> Select[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
        if client_id is not None:
            stmt = stmt.where(ApiKey.client_id == client_id)
        return stmt

    async def live_keys_minted_by(
        self, session: AsyncSession, *, tenant_id: str, user_id: str
    ) -> list[ApiKey]:
        stmt = (
            select(ApiKey)
            .where(
                ApiKey.tenant_id == tenant_id,
                ApiKey.created_by == user_id,
                ApiKey.revoked_at.is_(None),
            )
            .order_by(ApiKey.id)
        )
        return list((await session.scalars(stmt)).all())

    async def count_active_keys(
        self, session: AsyncSession, tenant_id: str | None, now: datetime
    ) -> int:
        stmt = select(func.count()).where(
            ApiKey.revoked_at.is_(None),
            (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
        )
        if tenant_id is not None:
            stmt = stmt.where(ApiKey.tenant_id == tenant_id)
        return int(await session.scalar(stmt) or 0)


repository = ApiKeyRepository()
