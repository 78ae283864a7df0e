"""Scheduled ledger work: voiding holds whose timeout has passed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from moneyrail.core import limits
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.core.jobs import schedule
from moneyrail.ledger.service import ledger

EXPIRY_INTERVAL_SECONDS = 10.0


@schedule(every_seconds=EXPIRY_INTERVAL_SECONDS, name="ledger.expire_pending")
async def expire_pending_job(session: AsyncSession) -> None:
    """The worker's job: one bounded batch per run, in the worker's transaction."""
    await ledger.expire_pending(session)


async def expire_pending(engine: AsyncEngine) -> int:
    """Void every expired hold now, a bounded batch per transaction; returns how many."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    total = 0
    for _ in range(limits.ledger_expire_batches_max):
        async with sessions() as session, session.begin():
            await bypass_tenant_scope(session)
            done = await ledger.expire_pending(session)
        total += done
        if done < limits.ledger_expire_batch_size_max:
            break
    return total
