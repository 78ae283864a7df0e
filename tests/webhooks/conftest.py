from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import Database, set_tenant
from moneyrail.core.outbox import emit
from moneyrail.core.settings import Settings
from moneyrail.worker.runner import Worker


def fast_settings(settings: Settings, **changes: object) -> Settings:
    """Short retry schedule, quick polling: bounded, fast tests."""
    base: dict[str, object] = {
        "webhook_retry_schedule_seconds": [0.05, 0.05, 0.05, 0.05, 0.05],
        "webhook_retry_jitter_ratio": 0.2,
        "outbox_retry_schedule_seconds": [0.05, 0.05],
        "worker_poll_interval_seconds": 0.05,
        "webhook_timeout_seconds": 2.0,
        "worker_lease_seconds": 10.0,
    }
    base.update(changes)
    return settings.model_copy(update=base)


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return fast_settings(settings)


@pytest_asyncio.fixture
async def worker(worker_settings: Settings, engine: AsyncEngine) -> AsyncIterator[Worker]:
    w = Worker(worker_settings, db=Database(engine), worker_id="test-worker")
    yield w
    await w.aclose()


async def emit_committed(
    engine: AsyncEngine, *, tenant_id: str, type: str, data: dict[str, object]
) -> str:
    async with AsyncSession(engine) as session, session.begin():
        await set_tenant(session, tenant_id)
        envelope = await emit(session, tenant_id=tenant_id, type=type, data=data)
    return envelope.id
