"""The registry in `core.jobs`: domains register handlers, jobs and pumps in their `tasks.py`;
the worker runs each pump's claim → process loop and hands back what it holds when stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core import jobs
from moneyrail.core.db import Database
from moneyrail.core.settings import Settings
from moneyrail.webhooks.delivery import DeliveryPump
from moneyrail.webhooks.tasks import DELIVERIES_PUMP
from moneyrail.worker.runner import Worker
from tests.webhooks.conftest import fast_settings

TEST_PUMP = "test.items"


class ItemPump:
    """Claims from an in-memory queue; `process` waits until the test lets it finish."""

    def __init__(self, items: list[int], *, lanes: int, batch_size: int) -> None:
        self.queue = list(items)
        self.lanes = lanes
        self.batch_size = batch_size
        self.processed: list[int] = []
        self.released: list[int] = []
        self.claims: list[int] = []
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()
        self.closed = False

    async def claim(self, limit: int) -> list[int]:
        self.claims.append(limit)
        taken, self.queue = self.queue[:limit], self.queue[limit:]
        return taken

    async def process(self, claimed: list[int]) -> None:
        self.holding.set()
        await self.gate.wait()
        self.processed += claimed

    async def release(self, claimed: list[int]) -> None:
        self.released += claimed
        self.queue = claimed + self.queue

    async def aclose(self) -> None:
        self.closed = True


@contextlib.contextmanager
def registered_item_pump(*, lanes: int, batch_size: int) -> Iterator[list[ItemPump]]:
    """Register a test pump; yields the pumps workers build from it."""
    built: list[ItemPump] = []

    @jobs.pump(TEST_PUMP)
    def factory(context: jobs.PumpContext) -> ItemPump:
        assert context.worker_id == "registry-test"
        built.append(ItemPump(list(range(10)), lanes=lanes, batch_size=batch_size))
        return built[-1]

    try:
        yield built
    finally:
        jobs.unregister_pump(TEST_PUMP)


def test_domains_register_through_their_tasks_modules() -> None:
    pumps = {spec.name: spec for spec in jobs.registered_pumps()}
    assert DELIVERIES_PUMP in pumps
    assert {"ledger.expire_pending", "payments.poll"} <= {j.name for j in jobs.registered_jobs()}
    assert jobs.handlers_for("messaging.send") and jobs.handlers_for("identity.otp_email")
    fan_outs = [
        h for h in jobs.every_event_handlers() if h.__module__ == "moneyrail.webhooks.tasks"
    ]
    assert len(fan_outs) == 1


async def test_the_webhooks_pump_is_built_per_worker(
    settings: Settings, engine: AsyncEngine
) -> None:
    worker = Worker(fast_settings(settings), db=Database(engine), worker_id="w")
    try:
        assert isinstance(worker.pumps[DELIVERIES_PUMP], DeliveryPump)
    finally:
        await worker.aclose()


async def test_a_registered_pump_runs_in_batches(settings: Settings, engine: AsyncEngine) -> None:
    with registered_item_pump(lanes=2, batch_size=3) as built:
        worker = Worker(fast_settings(settings), db=Database(engine), worker_id="registry-test")
        [pump] = built
        assert worker.pumps[TEST_PUMP] is pump
        pump.gate.set()
        try:
            while await worker.pump_once(TEST_PUMP):
                pass
        finally:
            await worker.aclose()
    assert pump.processed == list(range(10))
    assert set(pump.claims) == {3}
    assert pump.closed


async def test_stopping_hands_back_what_a_pump_holds(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Asked to stop, a worker claims nothing more; cancelled past the grace period, it
    releases the batches still in process, in every lane."""
    with registered_item_pump(lanes=2, batch_size=3) as built:
        worker = Worker(fast_settings(settings), db=Database(engine), worker_id="registry-test")
        [pump] = built
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(pump.holding.wait(), timeout=10)
        await asyncio.sleep(0.2)  # both lanes hold a batch
        worker.request_stop()
        await asyncio.sleep(0.2)
        assert pump.claims == [3, 3]  # two lanes; nothing claimed once stopping
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    assert pump.processed == []
    assert sorted(pump.released) == list(range(6))
    assert sorted(pump.queue) == list(range(10))  # nothing lost
    assert pump.closed
