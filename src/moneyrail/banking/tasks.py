"""Scheduled banking work: the nightly savings-interest job over every tenant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moneyrail.banking.interest import schemas
from moneyrail.banking.interest.repository import repository as interest_repository
from moneyrail.core.db import bypass_tenant_scope, run_before_commit, set_tenant

log = structlog.get_logger(__name__)


async def run_interest_accrual(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    day: date,
    tenant_ids: Sequence[str] | None = None,
) -> schemas.AccrualResult:
    """Accrue (and at month end credit) savings interest for `day`, one transaction per tenant.

    Safe to rerun: a tenant whose transaction failed is simply processed again next time,
    and a tenant already done for `day` gets nothing more.
    """
    from moneyrail.banking.interest.service import interest

    if tenant_ids is None:
        async with sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            tenant_ids = await interest_repository.tenants_with_savings(session)
    accrued = credited = 0
    amounts: Counter[str] = Counter()
    for tenant_id in tenant_ids:
        async with sessionmaker() as session, session.begin():
            await set_tenant(session, tenant_id)
            counts = await interest.accrue(session, tenant_id=tenant_id, day=day)
            # Audit rows are appended by pre-commit hooks, which only request sessions run.
            await run_before_commit(session)
        accrued += counts.accrued
        credited += counts.credited
        amounts.update(counts.amounts)
    log.info("banking.interest_job_done", day=day.isoformat(), tenants=len(tenant_ids))
    return schemas.AccrualResult(
        date=day,
        tenants=len(tenant_ids),
        accounts_accrued=accrued,
        accounts_credited=credited,
        interest_credited=dict(amounts),
    )
