"""Back-office views that combine several domains (the dashboard)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.auth.tenancy import enter_tenant_scope, tenant_scope
from moneyrail.identity.service import identity


class AdminService:
    async def dashboard(
        self, session: AsyncSession, *, subject: AuthSubject, requests_today: int
    ) -> dict[str, int | str | None]:
        """Counts for the subject's tenant; platform administrators see every tenant."""
        tenant_id = tenant_scope(subject)
        counts = await identity.counts(session, tenant_id=tenant_id)
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        await enter_tenant_scope(session, subject)
        events = await audit.count_since(session, tenant_id=tenant_id, since=midnight)
        return {
            "tenant_id": tenant_id,
            **counts,
            "requests_today": requests_today,
            "audit_events_today": events,
        }


admin = AdminService()
