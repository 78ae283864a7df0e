"""SQL for provider accounts and credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import driver
from moneyrail.payments.models import (
    ProviderAccount,
    ProviderCredential,
)


@dataclass(frozen=True)
class SealedCredential:
    """A stored credential row as read for a payment: what opening it needs, no ORM state."""

    tenant_id: str
    id: str
    provider: str
    environment: str
    ciphertext: str


# One row of arrays (one element per configured provider and credential row), NULLs when
# the tenant configured nothing.
_PROVIDER_SETUP = """
    SELECT array_agg(coalesce(a.provider, c.provider)), array_agg(a.environment),
           array_agg(c.id), array_agg(c.provider), array_agg(c.environment),
           array_agg(c.ciphertext)
    FROM payment_provider_accounts a
    FULL JOIN payment_provider_credentials c
        ON c.tenant_id = a.tenant_id AND c.provider = a.provider
    WHERE a.tenant_id = $1 OR c.tenant_id = $1
"""


class CredentialsRepository:
    async def account(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> ProviderAccount | None:
        return await session.get(ProviderAccount, (tenant_id, provider))

    async def accounts(self, session: AsyncSession, *, tenant_id: str) -> Sequence[ProviderAccount]:
        stmt = select(ProviderAccount).where(ProviderAccount.tenant_id == tenant_id)
        return (await session.scalars(stmt)).all()

    async def ensure_account(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> ProviderAccount:
        await session.execute(
            insert(ProviderAccount)
            .values(tenant_id=tenant_id, provider=provider)
            .on_conflict_do_nothing()
        )
        account = await session.get(ProviderAccount, (tenant_id, provider), populate_existing=True)
        assert account is not None
        return account

    async def provider_setup(
        self, session: AsyncSession, *, tenant_id: str
    ) -> list[tuple[str, str | None, SealedCredential | None]]:
        """(provider, its environment setting or None, one credential row or None) for
        every provider the tenant configured, in one round trip."""
        row = await (await driver(session)).fetchrow(_PROVIDER_SETUP, tenant_id)
        if row is None or row[0] is None:
            return []
        found: list[tuple[str, str | None, SealedCredential | None]] = []
        for provider, environment, row_id, row_provider, row_environment, ciphertext in zip(
            *row, strict=True
        ):
            sealed = None
            if row_id is not None:
                sealed = SealedCredential(
                    tenant_id, row_id, row_provider, row_environment, ciphertext
                )
            found.append((provider, environment, sealed))
        return found

    async def credential(
        self, session: AsyncSession, *, tenant_id: str, provider: str, environment: str
    ) -> ProviderCredential | None:
        stmt = select(ProviderCredential).where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider,
            ProviderCredential.environment == environment,
        )
        return await session.scalar(stmt)

    async def credentials(
        self, session: AsyncSession, *, tenant_id: str, provider: str | None = None
    ) -> Sequence[ProviderCredential]:
        stmt = select(ProviderCredential).where(ProviderCredential.tenant_id == tenant_id)
        if provider is not None:
            stmt = stmt.where(ProviderCredential.provider == provider)
        return (await session.scalars(stmt.order_by(ProviderCredential.provider))).all()

    async def credentials_batch(
        self, session: AsyncSession, *, after: tuple[str, str] | None
    ) -> Sequence[ProviderCredential]:
        """Every tenant's rows in key order, locked, one batch after `after` (key rotation)."""
        stmt = select(ProviderCredential)
        if after is not None:
            stmt = stmt.where(
                tuple_(ProviderCredential.tenant_id, ProviderCredential.id) > tuple_(*after)
            )
        stmt = (
            stmt.order_by(ProviderCredential.tenant_id, ProviderCredential.id)
            .limit(limits.credential_rotation_batch_size_max)
            .with_for_update()
        )
        return (await session.scalars(stmt)).all()

    async def delete_provider(self, session: AsyncSession, *, tenant_id: str, provider: str) -> int:
        creds = await session.execute(
            delete(ProviderCredential).where(
                ProviderCredential.tenant_id == tenant_id, ProviderCredential.provider == provider
            )
        )
        accounts = await session.execute(
            delete(ProviderAccount).where(
                ProviderAccount.tenant_id == tenant_id, ProviderAccount.provider == provider
            )
        )
        return int(creds.rowcount or 0) + int(accounts.rowcount or 0)  # type: ignore[attr-defined]


repository = CredentialsRepository()
