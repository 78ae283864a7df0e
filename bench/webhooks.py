"""Webhook delivery throughput: deliveries per second with one and with two `moneyrail worker`
processes against a local receiver on 127.0.0.1.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/webhooks.py

A scratch database is created on that server (and dropped afterwards), migrated, given one
tenant with one webhook endpoint, and filled with --events outbox events per run; the time
runs from starting the workers until the last delivery is recorded as delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from moneyrail.core import migrate
from moneyrail.core.db import Database, bypass_tenant_scope, create_engine, set_tenant
from moneyrail.core.outbox import emit_many
from moneyrail.core.settings import Settings, normalize_database_url
from moneyrail.identity.service import identity
from moneyrail.webhooks.service import webhooks

RUN_TIMEOUT_SECONDS = 300


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(libpq(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def serve_receiver(counter: dict[str, int]) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    async def hook(request: Request) -> PlainTextResponse:
        await request.body()
        counter["received"] += 1
        return PlainTextResponse("ok")

    config = uvicorn.Config(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}/hook"


async def run(
    db_url: str, *, workers: int, events: int, receiver_url: str, concurrency: int
) -> tuple[float, float]:
    settings = Settings(database_url=db_url, log_level="WARNING")
    db = Database(create_engine(settings))
    try:
        async with db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            tenant = await identity.create_tenant(session, name=f"bench {uuid.uuid4().hex[:6]}")
            await set_tenant(session, tenant.id)
            await webhooks.create_endpoint(
                session,
                settings=settings,
                tenant_id=tenant.id,
                url=receiver_url,
                description="bench",
                event_types=[],
                enabled=True,
            )
            await emit_many(
                session,
                tenant_id=tenant.id,
                events=[("transfer.posted", {"n": i}) for i in range(events)],
            )
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "LOG_LEVEL": "WARNING",
            "WORKER_POLL_INTERVAL_SECONDS": "0.05",
            "WORKER_CONCURRENCY": str(concurrency),
        }
        started = time.perf_counter()
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 - started once per run, not on a hot path
                [sys.executable, "-m", "moneyrail", "worker", "--id", f"bench-{n}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(workers)
        ]
        conn = await asyncpg.connect(libpq(db_url))
        first_seen: tuple[float, int] | None = None
        try:
            done = 0
            while done < events:
                if time.perf_counter() - started > RUN_TIMEOUT_SECONDS:
                    raise TimeoutError(f"only {done} of {events} delivered")
                await asyncio.sleep(0.25)
                done = await conn.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 "
                    "AND status = 'delivered'",
                    tenant.id,
                )
                elapsed = time.perf_counter() - started
                if done and first_seen is None:
                    first_seen = (elapsed, done)
                print(
                    f"\r  {workers} worker(s): {done:>6}/{events} delivered, {elapsed:5.1f} s",
                    end="",
                    flush=True,
                )
            elapsed = time.perf_counter() - started
            print()
        finally:
            await conn.close()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        # Steady state: from the first delivery recorded (the workers have started) to the last.
        if first_seen is None or elapsed <= first_seen[0]:
            return events / elapsed, events / elapsed
        return events / elapsed, (events - first_seen[1]) / (elapsed - first_seen[0])
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        sys.exit("set DATABASE_URL to a PostgreSQL server (a scratch database is made on it)")
    server_url = normalize_database_url(server_url)
    name = f"mr_bench_{uuid.uuid4().hex[:8]}"
    base, _, _ = server_url.rpartition("/")
    db_url = f"{base}/{name}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    counter = {"received": 0}
    server, task, receiver_url = await serve_receiver(counter)
    try:
        await asyncio.to_thread(migrate.upgrade, db_url)
        print(f"webhook deliveries, {args.events} events per run, receiver {receiver_url}")
        results = {}
        for workers in (1, 2):
            results[workers] = await run(
                db_url,
                workers=workers,
                events=args.events,
                receiver_url=receiver_url,
                concurrency=args.concurrency,
            )
        for workers, (overall, steady) in results.items():
            print(
                f"{workers} worker(s): {steady:8.1f} deliveries/s steady "
                f"({overall:.1f}/s including process start)"
            )
        print(f"receiver saw {counter['received']} requests")
    finally:
        server.should_exit = True
        await task
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
