"""User rows as response bodies (never the password hash)."""

from __future__ import annotations

from moneyrail.auth.roles import Role
from moneyrail.identity.users.models import User
from moneyrail.identity.users.schemas import UserOut


def user_out(row: User) -> UserOut:
    return UserOut(
        id=row.id,
        email=row.email,
        name=row.name,
        mobile=row.mobile,
        role=Role(row.role),
        status=row.status,
        locked_until=row.locked_until,
        last_login_at=row.last_login_at,
        created_at=row.created_at,
    )
