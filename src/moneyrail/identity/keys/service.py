"""API keys: issued on behalf of a subject (never above its role), listed, revoked and
authenticated on every request that carries one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.roles import ROLE_SCOPES, Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.identity.keys import material
from moneyrail.identity.keys.models import ApiKey
from moneyrail.identity.keys.repository import repository

log = structlog.get_logger(__name__)

# Writing last_used_at on every request would serialise a busy key on one row; once a
# minute is precise enough for "last used".
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


class InvalidScopes(Unprocessable):
    code = "invalid_scopes"
    title = "Unknown or excessive scopes"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "API key not found"


class ExpiryInPast(Unprocessable):
    code = "expiry_in_past"
    title = "Expiry in the past"


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    key: str  # shown once


def check_expiry(expires_at: datetime | None) -> None:
    """Raises ExpiryInPast."""
    if expires_at is not None:
        aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if aware <= datetime.now(UTC):
            raise ExpiryInPast("expires_at must be in the future")


class ApiKeyService:
    async def issue(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        name: str,
        role: Role,
        environment: str = "test",
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        client_id: str | None = None,
        created_by: str | None = None,
        creator_role: Role | None = None,
    ) -> IssuedKey:
        """Create a key; the plaintext is returned once and only its digest is stored.

        Raises:
            Forbidden: the key would carry a higher role than its creator.
            InvalidScopes: scopes outside the key's role.
        """
        if creator_role is not None and not role_at_least(creator_role, role):
            raise Forbidden("a key cannot carry a higher role than its creator")
        allowed = ROLE_SCOPES[role]
        chosen = sorted(set(scopes)) if scopes else []
        unknown = [s for s in chosen if s not in allowed]
        if unknown:
            raise InvalidScopes(f"scopes not allowed for role {role.value}: {', '.join(unknown)}")
        key = material.generate(environment)
        parsed = material.parse(key)
        assert parsed is not None
        record = ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            name=name,
            lookup=parsed.lookup,
            key_hash=material.digest(key),
            last4=key[-4:],
            environment=environment,
            role=role.value,
            scopes=chosen,
            client_id=client_id,
            created_by=created_by,
            expires_at=expires_at,
        )
        await repository.add(session, record)
        log.info("api_key.issued", api_key_id=record.id, tenant_id=tenant_id, role=role.value)
        return IssuedKey(record=record, key=key)

    async def create(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        name: str,
        role: Role | None,
        environment: str,
        scopes: Iterable[str] | None = None,
        expires_at: datetime | None = None,
        client_id: str | None = None,
    ) -> IssuedKey:
        """Issue a key on behalf of `subject` (never above its role) and audit it.

        Raises:
            Forbidden: a role above the creator's. InvalidScopes: scopes beyond the role.
        """
        issued = await self.issue(
            session,
            tenant_id=subject.tenant_id,
            name=name,
            role=role or subject.role,
            environment=environment,
            scopes=scopes,
            expires_at=expires_at,
            client_id=client_id,
            created_by=subject.actor_id,
            creator_role=subject.role,
        )
        await audit.record(
            session,
            subject=subject,
            action="identity.api_key.created",
            target_type="api_key",
            target_id=issued.record.id,
            after={
                "name": name,
                "role": issued.record.role,
                "environment": environment,
                "client_id": client_id,
                "last4": issued.record.last4,
            },
        )
        return issued

    async def list_keys(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[ApiKey], str | None]:
        stmt = paginate_by_key(repository.api_keys_of(tenant_id), ApiKey.id.expression, params)
        rows = (await session.scalars(stmt)).all()
        return make_page(rows, params, lambda row: row.id)

    async def revoke(self, session: AsyncSession, *, subject: AuthSubject, key_id: str) -> ApiKey:
        """Revoke a key of the subject's tenant (revoking twice is harmless).

        Raises:
            ApiKeyNotFound: no such key in this tenant.
            Forbidden: the key carries a higher role than the caller.
        """
        record = await repository.api_key(session, tenant_id=subject.tenant_id, key_id=key_id)
        if record is None:
            raise ApiKeyNotFound(f"no API key {key_id}")
        if not role_at_least(subject.role, Role(record.role)):
            raise Forbidden("a key with a higher role than yours cannot be revoked by you")
        if record.revoked_at is None:
            record.revoked_at = datetime.now(UTC)
            await session.flush()
            await audit.record(
                session,
                subject=subject,
                action="identity.api_key.revoked",
                target_type="api_key",
                target_id=record.id,
                after={"name": record.name, "last4": record.last4},
            )
        return record

    async def authenticate(self, session: AsyncSession, *, key: str) -> AuthSubject:
        """Find and check an API key across tenants and bind the transaction to its tenant.

        Raises:
            Unauthorized: unknown, malformed, revoked or expired key.
        """
        parsed = material.parse(key)
        if parsed is None:
            raise Unauthorized("the API key is not valid")
        record = await repository.authenticate_key_row(session, parsed.lookup)
        now = datetime.now(UTC)
        if record is None or not material.matches(key, record.key_hash):
            raise Unauthorized("the API key is not valid")
        if record.revoked_at is not None:
            raise Unauthorized("the API key has been revoked")
        if record.expires_at is not None and record.expires_at <= now:
            raise Unauthorized("the API key has expired")
        if record.last_used_at is None or now - record.last_used_at > API_KEY_TOUCH_INTERVAL:
            await repository.touch_api_key(session, record.id, now)
        role = Role(record.role)
        scopes = frozenset(record.scopes) if record.scopes else ROLE_SCOPES[role]
        return AuthSubject(
            tenant_id=record.tenant_id,
            actor_type="api_key",
            actor_id=record.id,
            role=role,
            scopes=scopes,
            environment="live" if record.environment == "live" else "test",
            credential_id=record.id,
            client_id=record.client_id,
        )

    async def minted_by(
        self, session: AsyncSession, *, subject: AuthSubject, user_id: str, revoke: bool
    ) -> list[ApiKey]:
        """The unrevoked keys a user of the subject's tenant minted, revoked first (and
        audited) when `revoke` is set."""
        rows = await repository.live_keys_minted_by(
            session, tenant_id=subject.tenant_id, user_id=user_id
        )
        if revoke:
            now = datetime.now(UTC)
            for record in rows:
                record.revoked_at = now
            await session.flush()
            for record in rows:
                await audit.record(
                    session,
                    subject=subject,
                    action="identity.api_key.revoked",
                    target_type="api_key",
                    target_id=record.id,
                    after={"name": record.name, "last4": record.last4, "reason": "role_changed"},
                )
        return rows

    async def count_active(self, session: AsyncSession, tenant_id: str | None) -> int:
        return await repository.count_active_keys(session, tenant_id, datetime.now(UTC))


api_keys = ApiKeyService()
