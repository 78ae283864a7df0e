"""Identity: tenants, users and API keys, and authentication of API keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import BYPASS_SETTING, bypass_tenant_scope
from moneyrail.core.errors import Forbidden, Unauthorized, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.identity import keys
from moneyrail.identity.models import ApiKey, Tenant
from moneyrail.identity.repository import repository
from moneyrail.identity.roles import ROLE_SCOPES, Role, role_at_least
from moneyrail.identity.subject import AuthSubject

log = structlog.get_logger(__name__)

# Writing last_used_at on every request would serialise a busy key on one row; once a
# minute is precise enough for "last used".
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


class InvalidScopes(Unprocessable):
    code = "invalid_scopes"
    title = "Unknown or excessive scopes"


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    key: str  # shown once


class IdentityService:
    async def create_tenant(self, session: AsyncSession, *, name: str) -> Tenant:
        tenant = Tenant(id=new_id("ten"), name=name)
        await repository.add(session, tenant)
        return tenant

    async def issue_api_key(
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
        key = keys.generate(environment)
        parsed = keys.parse(key)
        assert parsed is not None
        record = ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            name=name,
            lookup=parsed.lookup,
            key_hash=keys.digest(key),
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

    async def authenticate_api_key(self, session: AsyncSession, *, key: str) -> AuthSubject:
        """Find and check an API key across tenants.

        Raises:
            Unauthorized: unknown, malformed, revoked or expired key.
        """
        parsed = keys.parse(key)
        if parsed is None:
            raise Unauthorized("the API key is not valid")
        # The tenant is not known until the key is found: look it up across tenants, then
        # the caller binds the transaction to the key's tenant.
        await bypass_tenant_scope(session)
        try:
            record = await repository.api_key_by_lookup(session, parsed.lookup)
            now = datetime.now(UTC)
            if record is None or not keys.matches(key, record.key_hash):
                raise Unauthorized("the API key is not valid")
            if record.revoked_at is not None:
                raise Unauthorized("the API key has been revoked")
            if record.expires_at is not None and record.expires_at <= now:
                raise Unauthorized("the API key has expired")
            if record.last_used_at is None or now - record.last_used_at > API_KEY_TOUCH_INTERVAL:
                await repository.touch_api_key(session, record.id, now)
        finally:
            await session.execute(
                text("SELECT set_config(:name, 'off', true)"), {"name": BYPASS_SETTING}
            )
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


identity = IdentityService()
