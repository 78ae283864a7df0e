"""Which tenant a subject acts on. Every subject acts on its own tenant, except a platform
administrator, whose credential belongs to no tenant and who acts across all of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.core.db import bypass_tenant_scope


def tenant_scope(subject: AuthSubject, *, requested: str | None = None) -> str | None:
    """The tenant the subject's reads are limited to: its own, or for a platform
    administrator the `requested` one (None: every tenant)."""
    return requested if subject.is_platform_admin else subject.tenant_id


async def enter_tenant_scope(
    session: AsyncSession, subject: AuthSubject, *, requested: str | None = None
) -> str | None:
    """`tenant_scope`, with row-level security lifted for this transaction when the subject
    is a platform administrator (its transaction is bound to the platform tenant)."""
    if subject.is_platform_admin:
        await bypass_tenant_scope(session)
    return tenant_scope(subject, requested=requested)
