"""SQL for sign-in sessions: refresh tokens and one-time codes."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import driver
from moneyrail.identity.sessions.models import LoginFailure, OtpCode, RefreshToken
from moneyrail.identity.tenants.repository import across_tenants, add

# Every request with a user's access token, on the driver: binds the transaction to the
# token's tenant (the statement such a request ran anyway) and reads, across tenants, the
# user's credential version and status and whether the token's session is live (migration
# identity_sessions).
USER_SESSION_SQL = (
    "SELECT session_version, status, role, session_live FROM user_session_bind($1, $2, $3)"
)


class UserSessionRow(NamedTuple):
    session_version: int
    status: str
    role: str
    session_live: bool


class SessionRepository:
    across_tenants = staticmethod(across_tenants)

    async def add(self, session: AsyncSession, row: RefreshToken | OtpCode | LoginFailure) -> None:
        await add(session, row)

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
    ) -> int:
        result = await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=when, revoked_reason=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def bind_user_session(
        self, session: AsyncSession, *, user_id: str, tenant_id: str, session_id: str | None
    ) -> UserSessionRow | None:
        """Bind the tenant and read the user's credential state, in one statement."""
        row = await (await driver(session)).fetchrow(
            USER_SESSION_SQL, user_id, tenant_id, session_id
        )
        if row is None:
            return None
        return UserSessionRow(
            row["session_version"], row["status"], row["role"], row["session_live"]
        )

    # --- failed sign-ins ------------------------------------------------------------------
    async def login_failure(
        self, session: AsyncSession, *, tenant_id: str, user_id: str, client_key: str
    ) -> LoginFailure | None:
        stmt = (
            select(LoginFailure)
            .where(
                LoginFailure.tenant_id == tenant_id,
                LoginFailure.user_id == user_id,
                LoginFailure.client_key == client_key,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await session.scalar(stmt)

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


repository = SessionRepository()
