"""`POST /api/v1/payments` against the in-process Stripe sandbox: payments per second, p50/p99
latency, and what moneyrail adds over calling the sandbox directly.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/payments.py

A scratch database is created on that server (and dropped afterwards) and migrated; one tenant
with a test API key pays through the API app in this process (ASGI, no sockets), whose
test-mode provider calls reach the mounted sandbox in process too. Each payment is a full
Stripe PaymentIntent create-and-confirm (`pm_card_visa`), so it ends `captured` with its
ledger entry, audit rows and outbox events committed.

"Direct" is the same connector call (`StripeConnector.create_payment`, with the same fields
the API sends) on the same in-process transport, without moneyrail around it: the difference
is the platform's cost (auth, idempotency record, routing, payment row, state machine, ledger
posting, audit, outbox, commit). Like moneyrail, which keeps its connectors open, the direct
caller builds its connector (and HTTP client) once, not per payment. Sequential runs measure
latency; the concurrent run measures throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI

from moneyrail.auth.roles import Role
from moneyrail.connectors import registry
from moneyrail.connectors.base import CreatePayment, Customer
from moneyrail.core import migrate
from moneyrail.core.db import Database, bypass_tenant_scope, create_engine, set_tenant
from moneyrail.core.money import Money
from moneyrail.core.settings import Environment, Settings, normalize_database_url
from moneyrail.identity.service import identity
from moneyrail.main import create_app
from moneyrail.payments.credentials import sandbox_credentials
from moneyrail.payments.providers import ProviderRuntime

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
TARGET_ADDED_P99_MS = 10.0


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(libpq(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def progress(label: str, done: int, total: int) -> None:
    step = max(1, total // 10)
    if done % step == 0 or done == total:
        print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)


# CPU time of this process (API, sandbox and client) per label: it moves far less with the
# machine's other load than wall-clock latency does.
cpu_ms: dict[str, list[float]] = {}


async def timed(label: str, count: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    samples: list[float] = []
    cpu_started = time.process_time()
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
        progress(label, i + 1, count)
    if count:
        cpu_ms.setdefault(label, []).append((time.process_time() - cpu_started) * 1000 / count)
    return samples


def report(label: str, samples: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
    print(
        f"{label:<34} n={len(samples):<5} p50={p50:7.2f} ms  p99={p99:7.2f} ms  "
        f"mean={statistics.fmean(samples):7.2f} ms"
    )
    return p50, p99


async def run(server_url: str, count: int, concurrency: int, warmup: int) -> None:
    name = f"mr_bench_payments_{uuid.uuid4().hex[:8]}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    url = normalize_database_url(server_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        print(f"migrating scratch database {name} …", file=sys.stderr, flush=True)
        await asyncio.to_thread(migrate.upgrade, url)
        settings = Settings(
            environment=Environment.test,
            database_url=url,
            secret_key=SECRET_KEY,
            log_level="WARNING",
            database_pool_size=max(10, concurrency * 2),
            data_dir=Path(tempfile.mkdtemp(prefix="moneyrail-bench-")),
        )
        app = create_app(settings)
        app.state.db = Database(create_engine(settings))
        async with app.router.lifespan_context(app):
            await bench(app, settings, count=count, concurrency=concurrency, warmup=warmup)
        await app.state.db.dispose()
    finally:
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench(
    app: FastAPI, settings: Settings, *, count: int, concurrency: int, warmup: int
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with (
        AsyncSession(app.state.db.engine, expire_on_commit=False) as session,
        session.begin(),
    ):
        await bypass_tenant_scope(session)
        created = await identity.create_tenant(session, name="bench")
        await set_tenant(session, created.id)
        issued = await identity.issue_api_key(
            session, tenant_id=created.id, name="bench", role=Role.owner
        )
    tenant_id, api_key = created.id, issued.key

    def headers() -> dict[str, str]:
        return {"X-API-Key": api_key, "Idempotency-Key": uuid.uuid4().hex}

    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench/api/v1"
    )
    runtime = ProviderRuntime.from_settings(settings)
    creds = sandbox_credentials(runtime.sandbox_seed, tenant_id=tenant_id, provider="stripe")
    body = {
        "amount": {"amount": 4_999, "currency": "USD"},
        "provider": "stripe",
        "payment_method": "pm_card_visa",
        "customer": {"email": "bench@example.com"},
        "description": "bench",
    }

    async def through_api(_: int) -> None:
        response = await client.post("/payments", json=body, headers=headers())
        if response.status_code != 201 or response.json()["status"] != "captured":
            raise RuntimeError(f"payment failed: {response.status_code} {response.text[:300]}")

    # Opened once, as moneyrail keeps its own connectors open (`payments.providers`).
    connector = registry.payment_connector("stripe", creds, transport=app.state.provider_transport)

    async def direct(i: int) -> None:
        result = await connector.create_payment(
            CreatePayment(
                reference=f"direct-{i}",
                amount=Money(4_999, "USD"),
                idempotency_key=uuid.uuid4().hex,
                description="bench",
                customer=Customer(email="bench@example.com"),
                payment_method="pm_card_visa",
            )
        )
        if result.status.value != "captured":
            raise RuntimeError(f"direct payment ended {result.status}")

    try:
        await timed("warm-up", warmup, through_api)
        await timed("warm-up direct", warmup, direct)
        # Interleave the two so both see the same machine load.
        api_samples: list[float] = []
        direct_samples: list[float] = []
        half = max(1, count // 2)
        for _ in range(2):
            api_samples += await timed("POST /payments", half, through_api)
            direct_samples += await timed("direct sandbox call", half, direct)

        started = time.perf_counter()
        done = 0
        lock = asyncio.Lock()

        async def worker(n: int) -> None:
            nonlocal done
            for _ in range(n):
                await through_api(0)
                async with lock:
                    done += 1
                    progress(f"concurrent x{concurrency}", done, count)

        per_worker = max(1, count // concurrency)
        await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        total = per_worker * concurrency
    finally:
        await client.aclose()
        await connector.aclose()

    print()
    print(
        f"payments through the in-process Stripe sandbox (captured, with ledger/audit/outbox), {os.cpu_count()} CPUs"
    )
    api_p50, api_p99 = report("POST /api/v1/payments (sequential)", api_samples)
    dir_p50, dir_p99 = report("direct sandbox call (sequential)", direct_samples)
    print(
        f"{'added by moneyrail':<34} p50={api_p50 - dir_p50:7.2f} ms  p99={api_p99 - dir_p99:7.2f} ms"
        f"  (target ≤ {TARGET_ADDED_P99_MS:.0f} ms at p99)"
    )
    api_cpu = statistics.fmean(cpu_ms["POST /payments"])
    dir_cpu = statistics.fmean(cpu_ms["direct sandbox call"])
    print(
        f"{'CPU of this process per call':<34} API {api_cpu:6.2f} ms  direct {dir_cpu:6.2f} ms  "
        f"added {api_cpu - dir_cpu:6.2f} ms"
    )
    print(
        f"{'throughput':<34} {total / elapsed:7.1f} payments/s with {concurrency} concurrent clients "
        f"({total} payments in {elapsed:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=400, help="payments per measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not server:
        sys.exit("set DATABASE_URL to a PostgreSQL server (a scratch database is made on it)")
    asyncio.run(run(normalize_database_url(server), args.payments, args.concurrency, args.warmup))


if __name__ == "__main__":
    main()
