"""Identity: tenants, users and API keys, and authentication of API keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.roles import ROLE_SCOPES, Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import limits, security
from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.core.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.identity import keys
from moneyrail.identity.models import ApiKey, Tenant, User
from moneyrail.identity.repository import repository

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


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail already registered"


class LastOwner(Conflict):
    code = "last_owner"
    title = "A tenant keeps at least one owner"


class WeakPassword(Unprocessable):
    code = "weak_password"
    title = "Password not acceptable"


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    key: str  # shown once


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Raises WeakPassword for passwords that are too short, too long or the e-mail itself."""
    if len(password) < limits.password_length_min:
        raise WeakPassword(f"passwords need at least {limits.password_length_min} characters")
    if len(password) > limits.password_length_max:
        raise WeakPassword(f"passwords are limited to {limits.password_length_max} characters")
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword("the password must not be the e-mail address")


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def bind_to_user(session: AsyncSession, user: User) -> None:
    """Scope the transaction to the user's tenant; platform administrators have none, so
    their own rows are reached through the bypass scope."""
    if user.tenant_id is None:
        await bypass_tenant_scope(session)
    else:
        await set_tenant(session, user.tenant_id)


class IdentityService:
    async def create_tenant(self, session: AsyncSession, *, name: str) -> Tenant:
        tenant = Tenant(id=new_id("ten"), name=name)
        await repository.add(session, tenant)
        return tenant

    # --- API keys -----------------------------------------------------------------------
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

    async def create_api_key(
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
        issued = await self.issue_api_key(
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

    async def list_api_keys(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[ApiKey], str | None]:
        stmt = paginate_by_key(repository.api_keys_of(tenant_id), ApiKey.id.expression, params)
        rows = (await session.scalars(stmt)).all()
        return make_page(rows, params, lambda row: row.id)

    async def revoke_api_key(
        self, session: AsyncSession, *, subject: AuthSubject, key_id: str
    ) -> ApiKey:
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

    async def authenticate_api_key(self, session: AsyncSession, *, key: str) -> AuthSubject:
        """Find and check an API key across tenants and bind the transaction to its tenant.

        Raises:
            Unauthorized: unknown, malformed, revoked or expired key.
        """
        parsed = keys.parse(key)
        if parsed is None:
            raise Unauthorized("the API key is not valid")
        record = await repository.authenticate_key_row(session, parsed.lookup)
        now = datetime.now(UTC)
        if record is None or not keys.matches(key, record.key_hash):
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

    async def counts(self, session: AsyncSession, *, tenant_id: str | None) -> dict[str, int]:
        """Active users, OAuth2 clients and API keys of a tenant (None: of every tenant,
        for platform administrators)."""
        if tenant_id is None:
            async with repository.across_tenants(session):
                return await self._counts(session, None)
        return await self._counts(session, tenant_id)

    async def _counts(self, session: AsyncSession, tenant_id: str | None) -> dict[str, int]:
        now = datetime.now(UTC)
        return {
            "users": await repository.count_users(session, tenant_id),
            "clients": await repository.count_clients(session, tenant_id),
            "api_keys": await repository.count_active_keys(session, tenant_id, now),
        }

    # --- users --------------------------------------------------------------------------
    async def create_user(
        self,
        session: AsyncSession,
        *,
        tenant_id: str | None,
        email: str,
        password: str,
        role: Role,
        name: str | None = None,
        mobile: str | None = None,
        platform_admin: bool = False,
        creator: AuthSubject | None = None,
    ) -> User:
        """Create a user (password hashed with argon2id).

        Raises:
            WeakPassword: the password policy refuses it.
            Forbidden: a role above the creator's.
            EmailTaken: the e-mail is registered already (in any tenant).
        """
        email = normalize_email(email)
        check_password_policy(password, email=email)
        if creator is not None and not role_at_least(creator.role, role):
            raise Forbidden("a user cannot be given a higher role than yours")
        password_hash = await security.hash_password(password)
        user = User(
            id=new_id("usr"),
            tenant_id=tenant_id,
            email=email,
            password_hash=password_hash,
            name=name,
            mobile=mobile,
            role=role.value,
            is_platform_admin=platform_admin,
        )
        try:
            async with session.begin_nested():
                await repository.add(session, user)
        except IntegrityError as exc:
            raise EmailTaken("an account with this e-mail exists already") from exc
        await audit.record(
            session,
            subject=creator,
            tenant_id=tenant_id,
            actor_type=None if creator else "user",
            actor_id=None if creator else user.id,
            action="identity.user.created",
            target_type="user",
            target_id=user.id,
            after={"email": email, "role": role.value, "platform_admin": platform_admin},
        )
        return user

    async def list_users(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[User], str | None]:
        stmt = paginate_by_key(repository.users_of(tenant_id), User.id.expression, params)
        rows = (await session.scalars(stmt)).all()
        return make_page(rows, params, lambda row: row.id)

    async def get_user(self, session: AsyncSession, *, tenant_id: str | None, user_id: str) -> User:
        """Raises UserNotFound."""
        user = await repository.user(session, user_id, tenant_id=tenant_id)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        return user

    async def set_user_role(
        self, session: AsyncSession, *, subject: AuthSubject, user_id: str, role: Role
    ) -> User:
        """Change a user's role; takes effect at the user's next token refresh or sign-in.

        Raises:
            UserNotFound: not a user of the subject's tenant.
            Forbidden: granting or changing a role above the caller's.
            LastOwner: demoting the tenant's only owner.
        """
        user = await repository.user(session, user_id, tenant_id=subject.tenant_id, for_update=True)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        current = Role(user.role)
        if not role_at_least(subject.role, role) or not role_at_least(subject.role, current):
            raise Forbidden("roles above your own cannot be granted or changed by you")
        if current is Role.owner and role is not Role.owner:
            owners = await repository.count_users(session, subject.tenant_id, role="owner")
            if owners <= 1:
                raise LastOwner("promote another owner before changing this one")
        if current is not role:
            user.role = role.value
            await session.flush()
            await audit.record(
                session,
                subject=subject,
                action="identity.user.role_changed",
                target_type="user",
                target_id=user.id,
                before={"role": current.value},
                after={"role": role.value},
            )
        return user

    async def update_profile(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        name: str | None,
        mobile: str | None,
    ) -> User:
        """Raises UserNotFound when the subject is not a user."""
        async with repository.across_tenants(session):
            user = await repository.user(session, subject.actor_id)
        if user is None or subject.actor_type != "user":
            raise UserNotFound("only users have a profile to update")
        await bind_to_user(session, user)
        before = {"name": user.name, "mobile": user.mobile}
        if name is not None:
            user.name = name
        if mobile is not None:
            user.mobile = mobile
        await session.flush()
        await audit.record(
            session,
            subject=subject,
            action="identity.user.profile_updated",
            target_type="user",
            target_id=user.id,
            before=before,
            after={"name": user.name, "mobile": user.mobile},
        )
        return user


identity = IdentityService()
