"""One-time sign-in codes by e-mail: six CSPRNG digits, stored as a keyed digest, five
minutes, single use, at most five tries, a resend interval; the e-mail leaves through the
outbox with the code encrypted for that event only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.core import limits, security
from moneyrail.core.crypto import key_ring
from moneyrail.core.db import set_tenant
from moneyrail.core.errors import Unauthorized
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit
from moneyrail.identity.sessions.models import OtpCode
from moneyrail.identity.sessions.repository import repository
from moneyrail.identity.sessions.service import login, role_scopes
from moneyrail.identity.tokens.config import AuthConfig
from moneyrail.identity.tokens.errors import TokenPair
from moneyrail.identity.users.repository import repository as user_repository
from moneyrail.identity.users.service import normalize_email

log = structlog.get_logger(__name__)

OTP_EMAIL_EVENT = "identity.otp_email"


class InvalidOtp(Unauthorized):
    code = "invalid_otp"
    title = "Invalid one-time code"
    keep_writes = True


def otp_aad(*, tenant_id: str, otp_id: str, email: str) -> str:
    """Binds an encrypted code to its event, so a ciphertext copied elsewhere is useless."""
    return f"{OTP_EMAIL_EVENT}:{tenant_id}:{otp_id}:{email}"


class OtpService:
    async def request_otp(self, session: AsyncSession, config: AuthConfig, *, email: str) -> None:
        """E-mail a login code when the address has an active account; silent otherwise.

        A new code is sent at most once per resend interval; a new code retires the old.
        """
        email = normalize_email(email)
        async with repository.across_tenants(session):
            user = await user_repository.user_by_email(session, email, for_update=True)
        if user is None or user.status != "active" or user.tenant_id is None:
            return
        await set_tenant(session, user.tenant_id)
        now = datetime.now(UTC)
        latest = await repository.latest_otp(session, user.id)
        resend_after = timedelta(seconds=limits.otp_resend_interval_seconds)
        if latest is not None and now - latest.created_at < resend_after:
            log.info("identity.otp_throttled", user_id=user.id)
            return
        await repository.retire_otps(session, user_id=user.id, when=now)
        code = security.generate_otp()
        otp = OtpCode(
            tenant_id=user.tenant_id,
            id=new_id("otp"),
            user_id=user.id,
            code_hash="",
            expires_at=now + config.otp_ttl,
            created_at=now,
        )
        otp.code_hash = security.keyed_digest(config.pepper, otp.id, code)
        await repository.add(session, otp)
        sealed = key_ring().encrypt_text(
            code, aad=otp_aad(tenant_id=user.tenant_id, otp_id=otp.id, email=user.email)
        )
        await emit(
            session,
            tenant_id=user.tenant_id,
            type=OTP_EMAIL_EVENT,
            data={
                "otp_id": otp.id,
                "user_id": user.id,
                "to": user.email,
                "code_encrypted": sealed,
                "expires_at": otp.expires_at.isoformat(),
            },
        )
        await audit.record(
            session,
            tenant_id=user.tenant_id,
            actor_type="user",
            actor_id=user.id,
            action="identity.otp.requested",
            target_type="user",
            target_id=user.id,
        )

    async def otp_login(
        self,
        session: AsyncSession,
        config: AuthConfig,
        *,
        email: str,
        otp: str,
        environment: str = "test",
    ) -> TokenPair:
        """Sign in with an e-mailed code: single use, expires, at most five tries per code.

        Raises:
            InvalidOtp: no live code, too many tries, a wrong code, or a locked account.
        """
        email = normalize_email(email)
        async with repository.across_tenants(session):
            user = await user_repository.user_by_email(session, email, for_update=True)
        if user is None or user.tenant_id is None or user.status != "active":
            raise InvalidOtp("the code is wrong, used or expired")
        await set_tenant(session, user.tenant_id)
        now = datetime.now(UTC)
        if await login.is_locked(session, user, now=now):
            await login.record_failed_login(session, user, reason="locked", now=now)
            raise InvalidOtp("the code is wrong, used or expired")
        record = await repository.latest_otp(session, user.id, for_update=True)
        if (
            record is None
            or record.consumed_at is not None
            or record.expires_at <= now
            or record.attempts >= limits.otp_attempts_max
        ):
            raise InvalidOtp("the code is wrong, used or expired")
        expected = security.keyed_digest(config.pepper, record.id, otp.strip())
        if not security.constant_time_equals(expected, record.code_hash):
            record.attempts += 1
            await login.record_failed_login(session, user, reason="otp", now=now)
            raise InvalidOtp("the code is wrong, used or expired")
        record.consumed_at = now
        await login.record_login(session, user, method="otp", now=now)
        return await login.issue_user_tokens(
            session, config, user, scopes=role_scopes(user), environment=environment
        )


otp = OtpService()
