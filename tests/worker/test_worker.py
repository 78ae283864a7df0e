"""The worker's building blocks: leases with SKIP LOCKED, release on shutdown, handler
retries and dead letter, and scheduled jobs run once per interval across workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core import jobs
from moneyrail.core.db import Database, bypass_tenant_scope
from moneyrail.core.metrics import registry
from moneyrail.core.outbox import EventEnvelope
from moneyrail.core.settings import Settings
from moneyrail.webhooks.tasks import DELIVERIES_PUMP
from moneyrail.worker.runner import Worker
from tests.factories import make_live_tenant
from tests.webhooks.conftest import emit_committed, fast_settings


@pytest_asyncio.fixture
async def two_workers(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[tuple[Worker, Worker]]:
    worker_settings = fast_settings(settings)
    a = Worker(worker_settings, db=Database(engine), worker_id="a")
    b = Worker(worker_settings, db=Database(engine), worker_id="b")
    yield a, b
    await a.aclose()
    await b.aclose()


async def _event(engine: AsyncEngine, event_id: str) -> tuple[str, int, str | None]:
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        row = (
            await session.execute(
                text("SELECT status, attempts, last_error FROM outbox_events WHERE id = :i"),
                {"i": event_id},
            )
        ).one()
        return row.status, row.attempts, row.last_error


def test_retry_schedule_with_jitter_is_bounded() -> None:
    schedule_ = [300.0, 1800.0, 7200.0, 21600.0, 57600.0]
    assert jobs.attempts_allowed(schedule_) == 6
    assert 13 * 3600 < sum(schedule_) < 26 * 3600  # 5 retries over about a day
    for n in range(1, 6):
        delay = jobs.delay_before_retry(schedule_, retry=n, jitter_ratio=0.2)
        assert schedule_[n - 1] * 0.8 <= delay <= schedule_[n - 1] * 1.2


async def test_concurrent_claims_never_share_a_row(
    two_workers: tuple[Worker, Worker], engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    ids = {
        await emit_committed(engine, tenant_id=tenant.tenant_id, type="internal.noop", data={})
        for _ in range(30)
    }
    a, b = two_workers
    claimed_a, claimed_b = await asyncio.gather(a.relay.claim(100), b.relay.claim(100))
    mine_a = {e.id for e in claimed_a} & ids
    mine_b = {e.id for e in claimed_b} & ids
    assert not (mine_a & mine_b)
    # Shutdown before processing: the leases are handed back untouched.
    await a.relay.release(claimed_a)
    await b.relay.release(claimed_b)
    for event_id in list(ids)[:3]:
        assert (await _event(engine, event_id))[:2] == ("pending", 0)


async def test_failing_handler_retries_then_dead_letters(
    two_workers: tuple[Worker, Worker], engine: AsyncEngine
) -> None:
    calls: list[str] = []

    @jobs.handles("test.always_fails")
    async def always_fails(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(event.id)
        raise RuntimeError("provider down")

    try:
        tenant = await make_live_tenant(engine)
        event_id = await emit_committed(
            engine, tenant_id=tenant.tenant_id, type="test.always_fails", data={}
        )
        worker, _ = two_workers

        async def dead() -> bool:
            return (await _event(engine, event_id))[0] == "failed"

        await worker.drain(timeout_seconds=15, until=dead)
        _, attempts, error = await _event(engine, event_id)
        assert attempts == 3  # the first try and the two scheduled retries
        assert error is not None and "provider down" in error
        assert calls.count(event_id) == 3
        failed = registry.get_sample_value("moneyrail_outbox_events_total", {"outcome": "failed"})
        assert failed is not None and failed >= 1
    finally:
        jobs.unregister_handler("test.always_fails", always_fails)


async def test_scheduled_job_runs_once_per_interval_across_workers(
    two_workers: tuple[Worker, Worker],
) -> None:
    runs: list[str] = []

    @jobs.schedule(every_seconds=60, name="test.once_a_minute")
    async def job(session: AsyncSession) -> None:
        runs.append("ran")

    try:
        a, b = two_workers
        async with AsyncSession(a.db.engine) as session, session.begin():
            await session.execute(
                text("DELETE FROM worker_job_runs WHERE name = 'test.once_a_minute'")
            )
        await asyncio.gather(a.jobs_once(), b.jobs_once())
        await asyncio.gather(a.jobs_once(), b.jobs_once())
        assert runs == ["ran"]
    finally:
        jobs.unregister_job("test.once_a_minute")


async def test_stop_request_ends_the_loops(two_workers: tuple[Worker, Worker]) -> None:
    worker, _ = two_workers
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    worker.request_stop()
    await asyncio.wait_for(task, timeout=10)
    assert worker.stopping


@pytest.mark.parametrize("schedule_", [[], [1.0]])
def test_attempts_allowed(schedule_: list[float]) -> None:
    assert jobs.attempts_allowed(schedule_) == 1 + len(schedule_)


async def test_released_deliveries_are_not_counted_as_attempts(
    two_workers: tuple[Worker, Worker], engine: AsyncEngine
) -> None:
    from moneyrail.webhooks.service import webhooks

    tenant = await make_live_tenant(engine)
    worker, _ = two_workers
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        endpoint, _secret = await webhooks.create_endpoint(
            session,
            settings=worker.settings,
            tenant_id=tenant.tenant_id,
            url="http://127.0.0.1:9/unused",
            description=None,
            event_types=["webhook.test"],
            enabled=True,
        )
        delivery = await webhooks.send_test(
            session, settings=worker.settings, tenant_id=tenant.tenant_id, endpoint_id=endpoint.id
        )
        delivery_id = delivery.id
    deliveries = worker.pumps[DELIVERIES_PUMP]
    batch = await deliveries.claim(100)
    claimed = [c for c in batch if c.id == delivery_id]
    await deliveries.release([c for c in batch if c.id != delivery_id])
    assert [c.attempt for c in claimed] == [1]
    await deliveries.release(claimed)
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        row = (
            await session.execute(
                text(
                    "SELECT status, attempts, locked_until, "
                    "(SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS n "
                    "FROM webhook_deliveries d WHERE id = :i"
                ),
                {"i": delivery_id},
            )
        ).one()
    assert (row.status, row.attempts, row.locked_until, row.n) == ("pending", 0, None, 0)
