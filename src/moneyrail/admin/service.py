"""Back-office views that combine several domains (the dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.identity.service import identity
from moneyrail.identity.subject import AuthSubject


class AdminService:
    async def dashboard(
        self, session: AsyncSession, *, subject: AuthSubject, requests_today: int
    ) -> dict[str, int | str | None]:
        """Counts for the subject's tenant; platform administrators see every tenant."""
        tenant_id = None if subject.is_platform_admin else subject.tenant_id
        counts = await identity.counts(session, tenant_id=tenant_id)
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if tenant_id is None:
            await bypass_tenant_scope(session)
        events = await audit.count_since(session, tenant_id=tenant_id, since=midnight)
        return {
            "tenant_id": tenant_id,
            **counts,
            "requests_today": requests_today,
            "audit_events_today": events,
        }


admin = AdminService()
