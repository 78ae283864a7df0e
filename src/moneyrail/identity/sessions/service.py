"""Sign-up and sign-in: password and client-credentials grants, refresh-token rotation,
logout and revocation, change of password. Lockout after repeated failures."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.chain import PLATFORM_TENANT_ID
from moneyrail.audit.service import audit
from moneyrail.auth.roles import ROLE_SCOPES, Role
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import limits, request_context, security
from moneyrail.core.db import set_tenant
from moneyrail.core.errors import BadRequest, Unauthorized
from moneyrail.core.ids import new_id
from moneyrail.identity.clients.service import client_scopes, clients
from moneyrail.identity.sessions.models import LoginFailure, RefreshToken
from moneyrail.identity.sessions.repository import repository
from moneyrail.identity.tenants.service import tenants
from moneyrail.identity.tokens.config import AuthConfig
from moneyrail.identity.tokens.errors import InvalidClient, InvalidGrant, InvalidScope, TokenPair
from moneyrail.identity.tokens.service import (
    PLATFORM_SCOPES,
    InvalidToken,
    issue_access_token,
    subject_of_jwt,
)
from moneyrail.identity.users.models import User
from moneyrail.identity.users.repository import repository as user_repository
from moneyrail.identity.users.service import (
    UserNotFound,
    bind_to_user,
    check_password_policy,
    normalize_email,
    users,
)

log = structlog.get_logger(__name__)

REFRESH_TOKEN_PREFIX = "mrrt_"  # noqa: S105 - a public marker, not a secret
LOCKOUT = timedelta(minutes=limits.login_lockout_minutes)


# One answer for an unknown address, a wrong password, a locked or a disabled account.
SIGN_IN_REFUSED = "the e-mail or password is wrong, or the account cannot sign in"


def _client_key() -> str:
    """The calling client's address as a digest (failed sign-ins are counted per address)."""
    ip = request_context.current().ip or "unknown"
    return hashlib.sha256(ip.encode()).hexdigest()


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    title = "Invalid refresh token"
    keep_writes = True


def role_scopes(user: User) -> frozenset[str]:
    return PLATFORM_SCOPES if user.is_platform_admin else ROLE_SCOPES[Role(user.role)]


def _requested(scope: str | None, allowed: frozenset[str]) -> frozenset[str]:
    if not scope:
        return allowed
    wanted = frozenset(scope.split())
    if not wanted <= allowed:
        raise InvalidScope("the requested scope exceeds what this account may do")
    return wanted


def _tenant_key(user: User) -> str:
    return user.tenant_id or PLATFORM_TENANT_ID


async def _audit_user(
    session: AsyncSession, user: User, *, action: str, after: dict[str, Any]
) -> None:
    """Audit an event of a user's sign-in, acted by and targeting that user."""
    await audit.record(
        session,
        tenant_id=user.tenant_id,
        actor_type="user",
        actor_id=user.id,
        action=action,
        target_type="user",
        target_id=user.id,
        after=after,
    )


async def _audit_family(session: AsyncSession, record: RefreshToken, *, action: str) -> None:
    """Audit an event of a refresh-token family, acted by the user it belongs to."""
    await audit.record(
        session,
        tenant_id=record.tenant_id,
        actor_type="user",
        actor_id=record.user_id,
        action=action,
        target_type="refresh_token_family",
        target_id=record.family_id,
    )


class LoginService:
    # --- sign-up ------------------------------------------------------------------------
    async def signup(
        self,
        session: AsyncSession,
        config: AuthConfig,
        *,
        email: str,
        password: str,
        organization_name: str,
        name: str | None = None,
    ) -> TokenPair:
        """Create a tenant and its owner, and sign the owner in.

        Raises:
            WeakPassword, EmailTaken.
        """
        tenant = await tenants.create(session, name=organization_name)
        await set_tenant(session, tenant.id)
        user = await users.create(
            session, tenant_id=tenant.id, email=email, password=password, role=Role.owner, name=name
        )
        await audit.record(
            session,
            tenant_id=tenant.id,
            actor_type="user",
            actor_id=user.id,
            action="identity.tenant.created",
            target_type="tenant",
            target_id=tenant.id,
            after={"name": organization_name},
        )
        return await self.issue_user_tokens(session, config, user, scopes=role_scopes(user))

    # --- password grant -----------------------------------------------------------------
    async def password_grant(
        self,
        session: AsyncSession,
        config: AuthConfig,
        *,
        email: str,
        password: str,
        scope: str | None = None,
        environment: str = "test",
    ) -> TokenPair:
        """Sign a user in. Ten failures in a row lock the account for thirty minutes.

        Raises:
            InvalidGrant: unknown e-mail, wrong password, disabled or locked account.
            InvalidScope: more scope than the user's role allows.
        """
        email = normalize_email(email)
        async with repository.across_tenants(session):
            user = await user_repository.user_by_email(session, email, for_update=True)
        if user is None:
            # Hash as long as for a real account: the time taken must not tell them apart.
            await security.verify_password(None, password)
            raise InvalidGrant(SIGN_IN_REFUSED)
        await bind_to_user(session, user)
        now = datetime.now(UTC)
        # The password is checked even when the account is locked, for the same reason.
        password_ok = await security.verify_password(user.password_hash, password)
        if await self.is_locked(session, user, now=now):
            await self.record_failed_login(session, user, reason="locked", now=now)
            raise InvalidGrant(SIGN_IN_REFUSED)
        if not password_ok:
            await self.record_failed_login(session, user, reason="password", now=now)
            raise InvalidGrant(SIGN_IN_REFUSED)
        if user.status != "active":
            raise InvalidGrant(SIGN_IN_REFUSED)
        scopes = _requested(scope, role_scopes(user))
        if user.password_hash and security.password_needs_rehash(user.password_hash):
            user.password_hash = await security.hash_password(password)
        await self.record_login(session, user, method="password", now=now)
        return await self.issue_user_tokens(
            session, config, user, scopes=scopes, environment=environment
        )

    async def _failures(self, session: AsyncSession, user: User) -> LoginFailure | None:
        return await repository.login_failure(
            session, tenant_id=_tenant_key(user), user_id=user.id, client_key=_client_key()
        )

    async def is_locked(self, session: AsyncSession, user: User, *, now: datetime) -> bool:
        """Whether sign-in to `user` is locked for the calling client address."""
        failures = await self._failures(session, user)
        return (
            failures is not None
            and failures.locked_until is not None
            and failures.locked_until > now
        )

    async def record_failed_login(
        self, session: AsyncSession, user: User, *, reason: str, now: datetime
    ) -> None:
        """Count a failure for (account, client address); the tenth in a row locks that
        address out for the lockout period. The caller holds the user's row lock."""
        failures = await self._failures(session, user)
        if failures is None:
            failures = LoginFailure(
                tenant_id=_tenant_key(user),
                user_id=user.id,
                client_key=_client_key(),
                failed_count=0,
            )
            await repository.add(session, failures)
        locked = False
        if reason != "locked":
            if failures.locked_until is not None and failures.locked_until <= now:
                failures.failed_count = 0  # the previous lockout is over: count afresh
                failures.locked_until = None
            failures.failed_count += 1
            locked = failures.failed_count >= limits.login_failures_max
            if locked:
                failures.locked_until = now + LOCKOUT
                failures.failed_count = 0
        failures.updated_at = now
        await session.flush()
        log.info("identity.login_failed", user_id=user.id, reason=reason, locked=locked)
        await _audit_user(
            session,
            user,
            action="identity.login.failed",
            after={"reason": reason, "failed_logins": failures.failed_count},
        )
        if locked:
            await _audit_user(
                session,
                user,
                action="identity.user.locked",
                after={
                    "locked_until": failures.locked_until.isoformat()
                    if failures.locked_until
                    else None
                },
            )

    async def record_login(
        self, session: AsyncSession, user: User, *, method: str, now: datetime
    ) -> None:
        failures = await self._failures(session, user)
        if failures is not None:
            failures.failed_count = 0
            failures.locked_until = None
        user.last_login_at = now
        await session.flush()
        await _audit_user(
            session, user, action="identity.login.succeeded", after={"method": method}
        )

    async def issue_user_tokens(
        self,
        session: AsyncSession,
        config: AuthConfig,
        user: User,
        *,
        scopes: Iterable[str],
        environment: str = "test",
        family_id: str | None = None,
    ) -> TokenPair:
        now = datetime.now(UTC)
        chosen = sorted(set(scopes))
        refresh = security.generate_token(REFRESH_TOKEN_PREFIX)
        record = RefreshToken(
            tenant_id=_tenant_key(user),
            id=new_id("rtk"),
            token_hash=security.token_digest(refresh),
            family_id=family_id or new_id("rtf"),
            user_id=user.id,
            environment=environment,
            scopes=chosen,
            expires_at=now + config.refresh_ttl,
        )
        await repository.add(session, record)
        access = issue_access_token(
            config,
            subject_id=user.id,
            actor_type="user",
            tenant_id=user.tenant_id,
            role=Role(user.role),
            scopes=chosen,
            environment=environment,
            session_id=record.family_id,
            platform_admin=user.is_platform_admin,
            session_version=user.session_version,
            now=now,
        )
        return TokenPair(
            access_token=access.token,
            expires_in=access.expires_in,
            scope=access.scope,
            refresh_token=refresh,
        )

    # --- client credentials -------------------------------------------------------------
    async def client_credentials(
        self,
        session: AsyncSession,
        config: AuthConfig,
        *,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        environment: str = "test",
    ) -> TokenPair:
        """An access token for an OAuth2 client; no refresh token (RFC 6749 §4.4.3).

        Raises:
            InvalidClient: unknown client, wrong secret or disabled client.
            InvalidScope: more scope than the client was granted.
        """
        client = await clients.authenticate(
            session, client_id=client_id, client_secret=client_secret
        )
        if client is None:
            raise InvalidClient("client authentication failed")
        await set_tenant(session, client.tenant_id)
        scopes = _requested(scope, client_scopes(client))
        access = issue_access_token(
            config,
            subject_id=client.id,
            actor_type="client",
            tenant_id=client.tenant_id,
            role=Role(client.role),
            scopes=scopes,
            environment=environment,
            client_id=client.id,
        )
        return TokenPair(
            access_token=access.token, expires_in=access.expires_in, scope=access.scope
        )

    # --- refresh tokens -----------------------------------------------------------------
    async def refresh(
        self, session: AsyncSession, config: AuthConfig, *, refresh_token: str
    ) -> TokenPair:
        """Rotate a refresh token. Presenting a rotated token again revokes its whole family.

        Raises:
            InvalidRefreshToken: unknown, expired, revoked or reused token; user gone.
        """
        now = datetime.now(UTC)
        record = await self._find_refresh(session, refresh_token)
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise InvalidRefreshToken("the refresh token is not valid")
        if record.rotated_at is not None:
            await repository.revoke_family(
                session, family_id=record.family_id, reason="reuse", when=now
            )
            log.warning("identity.refresh_token_reused", family_id=record.family_id)
            await _audit_family(session, record, action="identity.refresh_token.reused")
            raise InvalidRefreshToken("the refresh token was used already; sign in again")
        async with repository.across_tenants(session):
            user = await user_repository.user(session, record.user_id, for_update=True)
        if user is not None:
            await bind_to_user(session, user)
        if user is None or user.status != "active":
            await repository.revoke_family(
                session, family_id=record.family_id, reason="user_inactive", when=now
            )
            raise InvalidRefreshToken("the account can no longer sign in")
        record.rotated_at = now
        await session.flush()
        allowed = role_scopes(user)
        scopes = (frozenset(record.scopes) & allowed) if record.scopes else allowed
        return await self.issue_user_tokens(
            session,
            config,
            user,
            scopes=scopes,
            environment=record.environment,
            family_id=record.family_id,
        )

    async def _find_refresh(self, session: AsyncSession, token: str) -> RefreshToken | None:
        if not token.startswith(REFRESH_TOKEN_PREFIX) or len(token) > limits.jwt_length_max:
            return None
        async with repository.across_tenants(session):
            record = await repository.refresh_token_by_hash(session, security.token_digest(token))
        if record is not None:
            await set_tenant(session, record.tenant_id)
        return record

    async def revoke_refresh_token(
        self, session: AsyncSession, *, token: str, tenant_id: str | None = None, reason: str
    ) -> bool:
        """Revoke the token's family (logout, RFC 7009). Unknown tokens are ignored."""
        record = await self._find_refresh(session, token)
        if record is None or (tenant_id is not None and record.tenant_id != tenant_id):
            return False
        count = await repository.revoke_family(
            session, family_id=record.family_id, reason=reason, when=datetime.now(UTC)
        )
        if count:
            await _audit_family(session, record, action=f"identity.session.{reason}")
        return True

    async def revoke_session(
        self, session: AsyncSession, *, tenant_id: str, family_id: str, reason: str
    ) -> None:
        """Revoke the refresh tokens of the session an access token belongs to."""
        await set_tenant(session, tenant_id)
        await repository.revoke_family(
            session, family_id=family_id, reason=reason, when=datetime.now(UTC)
        )

    async def end_user_sessions(self, session: AsyncSession, *, user_id: str, reason: str) -> int:
        """Revoke every refresh token of a user (their sessions end at once)."""
        return await repository.revoke_user_tokens(
            session, user_id=user_id, reason=reason, when=datetime.now(UTC)
        )

    async def refresh_token_info(self, session: AsyncSession, *, token: str) -> RefreshToken | None:
        return await self._find_refresh(session, token)


login = LoginService()


async def resolve_bearer(request: Request, session: AsyncSession, token: str) -> AuthSubject:
    """The bearer resolver: verify the JWT, then bind the transaction to its tenant. For a
    user's token the same statement reads the user's credential version, status, role and
    session, so on the very next request a role change narrows the token to the current
    role, and disabling, logout or a password change end it.

    Raises:
        InvalidToken: a bad token, or one whose user, version or session is no longer live.
    """
    subject = subject_of_jwt(request, token)
    if subject.actor_type != "user":
        await set_tenant(session, subject.tenant_id)
        return subject
    state = await repository.bind_user_session(
        session,
        user_id=subject.actor_id,
        tenant_id=subject.tenant_id,
        session_id=subject.extra.get("session_id"),
    )
    if state is None or state.status != "active" or not state.session_live:
        raise InvalidToken("the access token is no longer valid; sign in again")
    current = Role(state.role)
    if current is not subject.role and not subject.is_platform_admin:
        # The role changed since the token was issued: the token keeps working with the
        # current role's permissions only, so a demotion is refused (403) at once.
        return replace(subject, role=current, scopes=subject.scopes & ROLE_SCOPES[current])
    if str(state.session_version) != subject.extra.get("session_version"):
        raise InvalidToken("the access token is no longer valid; sign in again")
    return subject


class WrongPassword(BadRequest):
    code = "wrong_password"
    title = "The current password is wrong"
    keep_writes = True


async def change_password(
    session: AsyncSession, *, subject: AuthSubject, current_password: str, new_password: str
) -> None:
    """Change the signed-in user's password and end their other sessions.

    Raises:
        UserNotFound: the subject is not a user. WrongPassword: the current one is wrong.
        WeakPassword: the new one is refused by the policy.
    """
    async with repository.across_tenants(session):
        user = await user_repository.user(session, subject.actor_id, for_update=True)
    if user is None or subject.actor_type != "user":
        raise UserNotFound("only users have passwords")
    await bind_to_user(session, user)
    now = datetime.now(UTC)
    if not await security.verify_password(user.password_hash, current_password):
        await login.record_failed_login(session, user, reason="password", now=now)
        raise WrongPassword("the current password is wrong")
    check_password_policy(new_password, email=user.email)
    user.password_hash = await security.hash_password(new_password)
    user.session_version += 1
    await session.flush()
    await repository.revoke_user_tokens(
        session, user_id=user.id, reason="password_changed", when=now
    )
    await audit.record(
        session,
        subject=subject,
        action="identity.user.password_changed",
        target_type="user",
        target_id=user.id,
    )
