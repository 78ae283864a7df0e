"""Users: creation (argon2id passwords), roles, profile; the password policy."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.roles import Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import limits, security
from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.identity.users.models import User
from moneyrail.identity.users.repository import repository

log = structlog.get_logger(__name__)


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


class UserService:
    async def create(
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

    async def get(self, session: AsyncSession, *, tenant_id: str | None, user_id: str) -> User:
        """Raises UserNotFound."""
        user = await repository.user(session, user_id, tenant_id=tenant_id)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        return user

    async def set_role(
        self, session: AsyncSession, *, subject: AuthSubject, user_id: str, role: Role
    ) -> User:
        """Change a user's role; the user's access tokens stop working at once (their
        credential version moves on).

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
            user.session_version += 1
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

    async def set_status(
        self, session: AsyncSession, *, subject: AuthSubject, user_id: str, status: str
    ) -> User:
        """Disable or enable a user; the user's access tokens stop working at once.

        Raises:
            UserNotFound: not a user of the subject's tenant.
            Forbidden: the caller's own account, or a user with a role above the caller's.
            LastOwner: disabling the tenant's only active owner.
        """
        user = await repository.user(session, user_id, tenant_id=subject.tenant_id, for_update=True)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        if user.id == subject.actor_id:
            raise Forbidden("you cannot disable or enable your own account")
        if not role_at_least(subject.role, Role(user.role)):
            raise Forbidden("a user with a role above yours cannot be changed by you")
        if status != "active" and user.role == Role.owner.value and user.status == "active":
            owners = await repository.count_users(session, subject.tenant_id, role="owner")
            if owners <= 1:
                raise LastOwner("promote another owner before disabling this one")
        if user.status != status:
            before = user.status
            user.status = status
            user.session_version += 1
            await session.flush()
            log.info("identity.user.status_changed", user_id=user.id, status=status)
            await audit.record(
                session,
                subject=subject,
                action="identity.user.disabled" if status != "active" else "identity.user.enabled",
                target_type="user",
                target_id=user.id,
                before={"status": before},
                after={"status": status},
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


users = UserService()
