"""SQL for identity: tenants, users, API keys, OAuth2 clients, refresh tokens, one-time codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import BYPASS_SETTING, bypass_tenant_scope, driver
from moneyrail.identity.models import ApiKey, OAuthClient, OtpCode, RefreshToken, Tenant, User

_BYPASS_OFF = text("SELECT set_config(:name, 'off', true)")


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


class IdentityRepository:
    async def add(
        self,
        session: AsyncSession,
        row: Tenant | User | ApiKey | OAuthClient | RefreshToken | OtpCode,
    ) -> None:
        session.add(row)
        await session.flush()

    @asynccontextmanager
    async def across_tenants(self, session: AsyncSession) -> AsyncIterator[None]:
        """See every tenant for a credential lookup whose tenant is not known yet."""
        await bypass_tenant_scope(session)
        try:
            yield
        finally:
            await session.execute(_BYPASS_OFF, {"name": BYPASS_SETTING})

    # --- tenants ------------------------------------------------------------------------
    async def tenant(self, session: AsyncSession, tenant_id: str) -> Tenant | None:
        return await session.get(Tenant, tenant_id)

    # --- API keys -----------------------------------------------------------------------
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

    # --- users --------------------------------------------------------------------------
    async def user_by_email(
        self, session: AsyncSession, email: str, *, for_update: bool = False
    ) -> User | None:
        stmt = select(User).where(func.lower(User.email) == email.lower())
        if for_update:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=True))

    async def user(
        self,
        session: AsyncSession,
        user_id: str,
        *,
        tenant_id: str | None = None,
        for_update: bool = False,
    ) -> User | None:
        stmt = select(User).where(User.id == user_id)
        if tenant_id is not None:
            stmt = stmt.where(User.tenant_id == tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=True))

    def users_of(self, tenant_id: str) -> Select[User]:
        return select(User).where(User.tenant_id == tenant_id)

    async def count_users(
        self, session: AsyncSession, tenant_id: str | None, *, role: str | None = None
    ) -> int:
        stmt = select(func.count()).where(User.status == "active")
        if tenant_id is not None:
            stmt = stmt.where(User.tenant_id == tenant_id)
        if role is not None:
            stmt = stmt.where(User.role == role)
        return int(await session.scalar(stmt) or 0)

    # --- OAuth2 clients -----------------------------------------------------------------
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

    # --- refresh tokens -----------------------------------------------------------------
    async def refresh_token_by_hash(
        self, session: AsyncSession, token_hash: str
    ) -> RefreshToken | None:
        stmt = (
            select(RefreshToken)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await session.scalar(stmt)

    async def revoke_family(
        self, session: AsyncSession, *, family_id: str, reason: str, when: datetime
    ) -> int:
        result = await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=when, revoked_reason=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def revoke_user_tokens(
        self, session: AsyncSession, *, user_id: str, reason: str, when: datetime
    ) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=when, revoked_reason=reason)
        )

    # --- one-time codes -----------------------------------------------------------------
    async def latest_otp(
        self, session: AsyncSession, user_id: str, *, for_update: bool = False
    ) -> OtpCode | None:
        stmt = (
            select(OtpCode)
            .where(OtpCode.user_id == user_id)
            .order_by(OtpCode.created_at.desc(), OtpCode.id.desc())
            .limit(1)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=True))

    async def retire_otps(self, session: AsyncSession, *, user_id: str, when: datetime) -> None:
        await session.execute(
            update(OtpCode)
            .where(OtpCode.user_id == user_id, OtpCode.consumed_at.is_(None))
            .values(consumed_at=when)
        )


repository = IdentityRepository()
