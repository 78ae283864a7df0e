"""Two real `moneyrail worker` processes deliver 1,000 events; one is killed with SIGKILL in
the middle and started again. Every event arrives at least once, no delivery is attempted
by two workers at the same time, and SIGTERM stops both cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.core.outbox import emit_many
from tests.factories import make_live_tenant
from tests.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e

EVENTS = 1_000
DEADLINE_SECONDS = 50


def _start_worker(database_url: str, name: str, log_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "WORKER_POLL_INTERVAL_SECONDS": "0.05",
        "WORKER_LEASE_SECONDS": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "1",
        "WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0.2, 0.2, 0.2, 0.2, 0.2]",
        "WORKER_CONCURRENCY": "16",
        # The receiver listens on loopback.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }
    out = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "moneyrail", "worker", "--id", name],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


async def _delivered_count(engine: AsyncEngine, tenant_id: str) -> int:
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        return int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM webhook_deliveries "
                    "WHERE tenant_id = :t AND status = 'delivered'"
                ),
                {"t": tenant_id},
            )
            or 0
        )


async def test_kill_9_mid_batch_loses_nothing_and_never_overlaps(
    live_client: httpx.AsyncClient, engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver(delay_seconds=0.01)) as receiver:
        created = await live_client.post(
            "/webhooks", json={"url": receiver.url}, headers=tenant.headers
        )
        assert created.status_code == 201, created.text
        async with AsyncSession(engine) as session, session.begin():
            await set_tenant(session, tenant.tenant_id)
            await emit_many(
                session,
                tenant_id=tenant.tenant_id,
                events=[("transfer.posted", {"n": i}) for i in range(EVENTS)],
            )

        started = time.monotonic()
        first = _start_worker(database_url, "w1", tmp_path)
        second = _start_worker(database_url, "w2", tmp_path)
        restarted: subprocess.Popen[bytes] | None = None
        try:
            while len(receiver.ok()) < EVENTS // 5:
                assert time.monotonic() - started < DEADLINE_SECONDS, "workers made no progress"
                assert first.poll() is None and second.poll() is None, "a worker exited"
                await asyncio.sleep(0.02)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert first.returncode == -signal.SIGKILL
            killed_at = len(receiver.ok())
            restarted = _start_worker(database_url, "w1-again", tmp_path)

            while (
                len({r.webhook_id for r in receiver.ok()}) < EVENTS
                or await _delivered_count(engine, tenant.tenant_id) < EVENTS
            ):
                assert time.monotonic() - started < DEADLINE_SECONDS, (
                    f"{len({r.webhook_id for r in receiver.ok()})} of {EVENTS} delivered"
                )
                await asyncio.sleep(0.1)
            assert killed_at < EVENTS  # the kill really happened mid-batch

            # Graceful shutdown: SIGTERM, both exit on their own.
            for proc in (second, restarted):
                proc.send_signal(signal.SIGTERM)
            for proc in (second, restarted):
                assert proc.wait(timeout=20) == 0
        finally:
            for proc in (first, second, restarted):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)

    # Each event at least once, all with valid ids.
    ids = {r.webhook_id for r in receiver.ok()}
    assert len(ids) == EVENTS
    # No two requests for the same webhook-id were in flight at the same time.
    by_id: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in receiver.received:
        by_id[r.webhook_id].append((r.started, r.finished))
    for spans in by_id.values():
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            assert start >= end, "a delivery was attempted twice at the same time"
    # And the database's attempt log agrees: attempts of one delivery never overlap.
    async with AsyncSession(engine) as session, session.begin():
        await bypass_tenant_scope(session)
        overlaps = await session.scalar(
            text(
                """
                SELECT count(*) FROM webhook_attempts a JOIN webhook_attempts b
                  ON a.tenant_id = b.tenant_id AND a.delivery_id = b.delivery_id
                 AND b.attempt = a.attempt + 1
                WHERE a.tenant_id = :t AND b.started_at < a.finished_at
                """
            ),
            {"t": tenant.tenant_id},
        )
        leftover = await session.scalar(
            text(
                "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = :t "
                "AND status <> 'delivered'"
            ),
            {"t": tenant.tenant_id},
        )
    assert overlaps == 0
    assert leftover == 0
