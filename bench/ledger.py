"""Ledger benchmark: raw SQL vs the HTTP API, batches and a hot account, on one database.

    .venv/bin/python bench/ledger.py [--seconds 10] [--workers N (default: CPUs)]

Creates a fresh database on the PostgreSQL server named by --server (default
TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres), migrates it, opens
accounts and then measures, one phase after another:

1. raw SQL: asyncpg, 16 connections as the application role, each transfer one transaction
   running the statements a `POST /ledger/transfers` request runs (API-key lookup, tenant
   binding, Idempotency-Key lock, lookup and record, the ledger's posting statement and the
   outbox row). A second raw figure runs the ledger's own statements only.
2. API: a real uvicorn server (a subprocess on loopback, uvloop + httptools, one worker
   process per CPU as it is deployed, each with a 16-connection pool) and 16
   concurrent keep-alive clients posting transfers with API-key auth and an Idempotency-Key;
   the outbox row is written by every transfer as always.
3. batch: `POST /ledger/transfers/batch` with 1,000 transfers per request.
4. hot account: every transfer debits the same account (raw SQL and API).

Each phase also reports the CPU PostgreSQL's processes on this machine spent per transfer
("PG CPU ms"), and server phases the API process's own CPU per transfer, so a ratio can be
read as where the CPU goes rather than only how fast the wall clock moved.

Not a test: it prints figures. The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from moneyrail.core import idempotency, migrate, outbox
from moneyrail.core.db import bypass_tenant_scope, create_engine, set_tenant
from moneyrail.core.settings import Settings, normalize_database_url
from moneyrail.identity.keys import material as keys
from moneyrail.identity.keys import repository as identity_sql
from moneyrail.identity.service import identity
from moneyrail.ledger import repository as ledger_sql
from moneyrail.ledger.repository import Delta, EntryRow, Leg
from moneyrail.ledger.schemas import TransferCreate
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit
from moneyrail.ledger.views import transfer_event

console = Console()
CONCURRENCY = 16
IDEMPOTENCY_TTL = timedelta(hours=24)
BATCH_SIZE = 1_000
FUNDING = 10**12


# --- SQL for the raw client: the statements a transfer request runs ---------------------------


APPLY_SQL, APPLY_NAMES = ledger_sql.APPLY_DRIVER_SQL, ledger_sql.APPLY_PARAM_NAMES
SET_CONFIG = "SELECT set_config($1, $2, true)"
# The application's own statement texts, so both sides send exactly the same SQL.
API_KEY_SQL = identity_sql.AUTHENTICATE_KEY_SQL
IDEM_CLAIM_SQL, IDEM_INSERT_SQL = idempotency.CLAIM_SQL, idempotency.RECORD_SQL
OUTBOX_SQL = outbox.INSERT_QUEUED_SQL


@dataclass
class Fixture:
    db_url: str  # postgresql+asyncpg://…
    tenant_id: str
    api_key: str
    vault: str
    customers: list[str]


@dataclass
class Result:
    name: str
    transfers: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    note: str = ""
    database_cpu_ms: float = 0.0  # PostgreSQL CPU per transfer

    @property
    def rate(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- setup ----------------------------------------------------------------------------------


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_database(server: str, name: str) -> str:
    conn = await asyncpg.connect(libpq(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = normalize_database_url(server).rsplit("/", 1)[0]
    return f"{base}/{name}"


async def drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(libpq(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def prepare(db_url: str, accounts: int) -> Fixture:
    settings = Settings(database_url=db_url, log_level="WARNING")
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await bypass_tenant_scope(session)
            tenant = await identity.create_tenant(session, name="Bench")
            await set_tenant(session, tenant.id)
            issued = await identity.issue_api_key(
                session, tenant_id=tenant.id, name="bench", role=Role.owner
            )
            vault = await ledger.create_account(
                session,
                tenant_id=tenant.id,
                code="vault",
                name="Vault",
                currency="INR",
                kind=AccountKind.asset,
            )
            customers = [
                (
                    await ledger.create_account(
                        session,
                        tenant_id=tenant.id,
                        code=f"cust:{n}",
                        name=f"Customer {n}",
                        currency="INR",
                        kind=AccountKind.liability,
                        balance_limit=BalanceLimit.non_negative(),
                    )
                ).id
                for n in range(accounts)
            ]
            await ledger.transfer_batch(
                session,
                tenant_id=tenant.id,
                transfers=[
                    TransferCreate(
                        id=f"fund:{n}",
                        debit_account_id=vault.id,
                        credit_account_id=customer,
                        amount={"amount": FUNDING, "currency": "INR"},  # type: ignore[arg-type]
                    )
                    for n, customer in enumerate(customers)
                ],
                atomic=True,
            )
        return Fixture(db_url, tenant.id, issued.key, vault.id, customers)
    finally:
        await engine.dispose()


# --- load generation ------------------------------------------------------------------------


async def run_phase(
    progress: Progress,
    name: str,
    *,
    seconds: float,
    workers: int,
    step: Callable[[int, random.Random], Awaitable[int]],
    per_step_latency: bool = True,
) -> Result:
    """Run `workers` loops of `step` for `seconds`; each step returns transfers done."""
    task = progress.add_task(name, total=None)
    result = Result(name=name, transfers=0, seconds=0.0)
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                done = await step(n, rng)
            except (
                OSError,
                RuntimeError,
                asyncio.IncompleteReadError,
                asyncpg.PostgresError,
            ) as exc:
                result.errors += 1
                if result.errors <= 3:
                    console.print(f"[red]{name}: {type(exc).__name__}: {exc}[/red]")
                continue
            if per_step_latency:
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.transfers += done
            progress.update(task, advance=done)

    started = time.perf_counter()
    database_cpu = postgres_cpu_seconds()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    result.seconds = time.perf_counter() - started
    result.database_cpu_ms = (
        1000 * (postgres_cpu_seconds() - database_cpu) / max(1, result.transfers)
    )
    progress.update(task, description=f"{name}: {result.rate:,.0f}/s")
    progress.stop_task(task)
    return result


def server_cpu(server: psutil.Process) -> tuple[float, float]:
    """User and system CPU seconds of the server and its worker processes."""
    user = system = 0.0
    for process in [server, *server.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        user, system = user + times.user, system + times.system
    return user, system


def postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL server's processes on this machine (0 when not visible)."""
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def pair(fixture: Fixture, rng: random.Random, *, hot: bool) -> tuple[str, str]:
    if hot:
        return fixture.customers[0], rng.choice(fixture.customers[1:])
    debit, credit = rng.sample(fixture.customers, 2)
    return debit, credit


def apply_args(
    fixture: Fixture, transfer_id: str, debit: str, credit: str, amount: int
) -> list[Any]:
    entry = EntryRow(
        id=transfer_id,
        kind="transfer",
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        currency="INR",
        metadata={},
    )
    legs = [
        Leg(debit, "debit", "posted", amount, "INR"),
        Leg(credit, "credit", "posted", amount, "INR"),
    ]
    params = ledger_sql.apply_params(
        tenant_id=fixture.tenant_id,
        entry=entry,
        legs=legs,
        deltas=[
            Delta(debit, "INR", posted_debits=amount),
            Delta(credit, "INR", posted_credits=amount),
        ],
    )
    params["metadata"] = "{}"
    return [params[name] for name in APPLY_NAMES]


async def raw_transfer(
    conn: asyncpg.Connection, fixture: Fixture, lookup: str, debit: str, credit: str, *, full: bool
) -> None:
    transfer_id = "ltr_" + uuid.uuid4().hex
    now = datetime.now(UTC)
    async with conn.transaction():
        if full:
            # The API key lookup binds the tenant in the same statement.
            await conn.fetchrow(API_KEY_SQL, lookup)
        else:
            await conn.fetchval(SET_CONFIG, "app.tenant_id", fixture.tenant_id)
        key = uuid.uuid4().hex
        if full:
            await conn.fetchrow(IDEM_CLAIM_SQL, fixture.tenant_id, key)
        row = await conn.fetchrow(APPLY_SQL, *apply_args(fixture, transfer_id, debit, credit, 1))
        assert row is not None and row["ok"], row
        entry = EntryRow(
            id=transfer_id,
            kind="transfer",
            debit_account_id=debit,
            credit_account_id=credit,
            amount=1,
            currency="INR",
            metadata={},
        )
        event = transfer_event(entry, created_at=row["created_at"])
        event_id = "evt_" + uuid.uuid4().hex[:26]
        envelope = {
            "id": event_id,
            "type": "transfer.posted",
            "created_at": now.isoformat(),
            "tenant_id": fixture.tenant_id,
            "data": event,
        }
        if full:
            await conn.execute(
                IDEM_INSERT_SQL,
                fixture.tenant_id,
                key,
                "0" * 64,
                "POST",
                "/api/v1/ledger/transfers",
                201,
                json.dumps(event),
                now,
                now + IDEMPOTENCY_TTL,
            )
        # A request's events are written just before it commits, in one statement.
        await conn.execute(
            OUTBOX_SQL,
            *(
                json.dumps([value])
                for value in (
                    event_id,
                    fixture.tenant_id,
                    "transfer.posted",
                    json.dumps(envelope),
                    now.isoformat(),
                )
            ),
        )


async def raw_phase(
    progress: Progress, fixture: Fixture, *, name: str, seconds: float, full: bool, hot: bool
) -> Result:
    pool = await asyncpg.create_pool(
        libpq(fixture.db_url),
        min_size=CONCURRENCY,
        max_size=CONCURRENCY,
        server_settings={"role": "moneyrail_app"},
    )
    parsed = keys.parse(fixture.api_key)
    assert parsed is not None
    try:

        async def step(n: int, rng: random.Random) -> int:
            debit, credit = pair(fixture, rng, hot=hot)
            async with pool.acquire() as conn:
                await raw_transfer(conn, fixture, parsed.lookup, debit, credit, full=full)
            return 1

        return await run_phase(progress, name, seconds=seconds, workers=CONCURRENCY, step=step)
    finally:
        await pool.close()


class HttpConnection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams.

    The load generator shares the machine's CPUs with the server and PostgreSQL; httpx costs
    about as much CPU per request as the server's own work, which would bias the API figure.
    This client only writes a request and reads a Content-Length response.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(fixture: Fixture, *, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fixture.db_url,
        "LOG_LEVEL": "WARNING",
        "ENVIRONMENT": "development",
        # Throughput cannot be measured through a per-key limit of 100 requests a minute.
        "RATE_LIMIT_ENABLED": "false",
        # The same 16 connections per process as the raw client's pool: with fewer, the
        # requests beyond the pool size open and close overflow connections all the time.
        "DATABASE_POOL_SIZE": str(CONCURRENCY),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "moneyrail.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API server did not start")


async def api_phase(
    progress: Progress, fixture: Fixture, base: str, *, name: str, seconds: float, hot: bool
) -> Result:
    host, port = base.removeprefix("http://").split(":")
    connections = [HttpConnection(host, int(port)) for _ in range(CONCURRENCY)]
    try:

        async def step(n: int, rng: random.Random) -> int:
            debit, credit = pair(fixture, rng, hot=hot)
            body = json.dumps(
                {
                    "debit_account_id": debit,
                    "credit_account_id": credit,
                    "amount": {"amount": 1, "currency": "INR"},
                }
            ).encode()
            status, text = await connections[n].request(
                "POST",
                "/api/v1/ledger/transfers",
                body,
                {"X-API-Key": fixture.api_key, "Idempotency-Key": uuid.uuid4().hex},
            )
            if status != 201:
                raise RuntimeError(f"{status}: {text[:200]!r}")
            return 1

        return await run_phase(progress, name, seconds=seconds, workers=CONCURRENCY, step=step)
    finally:
        for connection in connections:
            await connection.close()


async def batch_phase(
    progress: Progress, fixture: Fixture, base: str, *, seconds: float, clients: int
) -> Result:
    host, port = base.removeprefix("http://").split(":")
    connections = [HttpConnection(host, int(port)) for _ in range(clients)]
    try:

        async def step(n: int, rng: random.Random) -> int:
            items = []
            for _ in range(BATCH_SIZE):
                debit, credit = pair(fixture, rng, hot=False)
                items.append(
                    {
                        "id": uuid.uuid4().hex,
                        "debit_account_id": debit,
                        "credit_account_id": credit,
                        "amount": {"amount": 1, "currency": "INR"},
                    }
                )
            status, text = await connections[n].request(
                "POST",
                "/api/v1/ledger/transfers/batch",
                json.dumps({"transfers": items}).encode(),
                {"X-API-Key": fixture.api_key},
            )
            if status != 200 or json.loads(text)["created"] != BATCH_SIZE:
                raise RuntimeError(f"{status}: {text[:300]!r}")
            return BATCH_SIZE

        return await run_phase(
            progress,
            f"batch ({BATCH_SIZE}/request, {clients} clients)",
            seconds=seconds,
            workers=clients,
            step=step,
        )
    finally:
        for connection in connections:
            await connection.close()


async def verify(fixture: Fixture) -> tuple[bool, int]:
    """After the run: cached balances equal the postings, and the trial balance balances."""
    conn = await asyncpg.connect(libpq(fixture.db_url))
    try:
        mismatched = await conn.fetchval(
            """
            SELECT count(*) FROM ledger_accounts a LEFT JOIN (
                SELECT account_id,
                       sum(amount) FILTER (WHERE direction = 'debit' AND effect = 'posted') d,
                       sum(amount) FILTER (WHERE direction = 'credit' AND effect = 'posted') c
                FROM ledger_postings GROUP BY account_id) p ON p.account_id = a.id
            WHERE a.posted_debits <> coalesce(p.d, 0) OR a.posted_credits <> coalesce(p.c, 0)
            """
        )
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entries")
        return mismatched == 0, int(entries)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--server",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn worker processes (default: one per CPU, as the server is deployed)",
    )
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--py-spy", metavar="FILE", help="record the server with py-spy during one phase"
    )
    parser.add_argument("--py-spy-phase", default="api", choices=["api", "batch", "hot_api"])
    parser.add_argument(
        "--phases",
        default="raw,raw_ledger,api,batch,hot_api,hot_raw",
        help="comma-separated subset of phases to run",
    )
    args = parser.parse_args()

    name = f"mr_bench_ledger_{uuid.uuid4().hex[:8]}"
    db_url = await create_database(args.server, name)
    process: subprocess.Popen[bytes] | None = None
    try:
        with console.status("migrating and opening accounts"):
            await asyncio.to_thread(migrate.upgrade, db_url)
            fixture = await prepare(db_url, args.accounts)
            # Statistics as autovacuum keeps them on a running system. A fresh database that
            # grows faster than autovacuum runs would otherwise plan with empty statistics.
            conn = await asyncpg.connect(libpq(db_url))
            try:
                await conn.execute("ANALYZE")
            finally:
                await conn.close()
        load = os.getloadavg()[0]
        console.print(
            f"database {name}: {args.accounts:,} funded accounts; {os.cpu_count()} CPUs, "
            f"load average {load:.2f} before the run; {args.seconds:.0f} s per phase"
        )
        results: dict[str, Result] = {}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            phases = set(args.phases.split(","))
            if "raw" in phases:
                results["raw"] = await raw_phase(
                    progress,
                    fixture,
                    name="raw SQL, request statements",
                    seconds=args.seconds,
                    full=True,
                    hot=False,
                )
            if "raw_ledger" in phases:
                results["raw_ledger"] = await raw_phase(
                    progress,
                    fixture,
                    name="raw SQL, ledger statements only",
                    seconds=args.seconds,
                    full=False,
                    hot=False,
                )
            if phases & {"api", "batch", "hot_api"}:
                process, base = start_server(fixture, workers=args.workers)
                server = psutil.Process(process.pid)

                async def on_server(phase: str, work: Awaitable[Result]) -> None:
                    """Run a server phase, noting the server's CPU per transfer (and py-spy)."""
                    spy = None
                    if args.py_spy and args.py_spy_phase == phase:
                        spy = await asyncio.create_subprocess_exec(
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--format",
                            "raw",
                            "-o",
                            args.py_spy,
                            "-d",
                            str(int(args.seconds)),
                            "-p",
                            str(server.pid),
                            "--subprocesses",
                            "--nonblocking",
                        )
                    before = server_cpu(server)
                    result = await work
                    after = server_cpu(server)
                    done = max(1, result.transfers)
                    result.note = (
                        f"server CPU per transfer {1000 * (after[0] - before[0]) / done:.2f}"
                        f" ms user + {1000 * (after[1] - before[1]) / done:.2f} ms system"
                    )
                    results[phase] = result
                    if spy is not None:
                        await spy.wait()

            if "api" in phases:
                await on_server(
                    "api",
                    api_phase(
                        progress,
                        fixture,
                        base,
                        name="API POST /ledger/transfers",
                        seconds=args.seconds,
                        hot=False,
                    ),
                )
            if "batch" in phases:
                await on_server(
                    "batch",
                    batch_phase(
                        progress,
                        fixture,
                        base,
                        seconds=args.seconds,
                        clients=args.batch_clients,
                    ),
                )
            if "hot_api" in phases:
                await on_server(
                    "hot_api",
                    api_phase(
                        progress,
                        fixture,
                        base,
                        name="API, hot account",
                        seconds=args.seconds,
                        hot=True,
                    ),
                )
            if "hot_raw" in phases:
                results["hot_raw"] = await raw_phase(
                    progress,
                    fixture,
                    name="raw SQL, hot account",
                    seconds=args.seconds,
                    full=False,
                    hot=True,
                )
        consistent, entries = await verify(fixture)
        report(results, args=args, consistent=consistent, entries=entries)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if not args.keep:
            await drop_database(args.server, name)


def report(
    results: dict[str, Result], *, args: argparse.Namespace, consistent: bool, entries: int
) -> None:
    table = Table(title="ledger benchmark")
    table.add_column("phase")
    table.add_column("transfers/s", justify="right")
    table.add_column("transfers", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p99 ms", justify="right")
    table.add_column("PG CPU ms", justify="right")
    table.add_column("errors", justify="right")
    for result in results.values():
        table.add_row(
            result.name,
            f"{result.rate:,.0f}",
            f"{result.transfers:,}",
            f"{result.percentile(0.50):.1f}",
            f"{result.percentile(0.99):.1f}",
            f"{result.database_cpu_ms:.2f}",
            str(result.errors),
        )
    console.print(table)
    for result in results.values():
        if result.note:
            console.print(f"{result.name}: {result.note}")
    if {"api", "raw", "raw_ledger"} <= results.keys():
        api, raw, raw_ledger = results["api"], results["raw"], results["raw_ledger"]
        console.print(
            f"API / raw (same request statements): {api.rate / raw.rate:.2f}   "
            f"API / raw (ledger statements only): {api.rate / raw_ledger.rate:.2f}"
            "   (target ≥ 0.5)"
        )
        console.print(f"API p50 {api.percentile(0.5):.1f} ms, p99 {api.percentile(0.99):.1f} ms")
    if "batch" in results:
        console.print(f"batch: {results['batch'].rate:,.0f} transfers/s (target ≥ 10,000)")
    console.print(
        f"server: uvicorn subprocess on loopback, {args.workers} worker(s), rate limits off; "
        f"clients: keep-alive HTTP/1.1 on asyncio streams, {CONCURRENCY} connections; {os.cpu_count()} CPUs; load average now "
        f"{os.getloadavg()[0]:.2f}"
    )
    console.print(
        f"after the run: {entries:,} entries; cached balances equal the postings: "
        f"{'yes' if consistent else 'NO'}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    asyncio.run(main())
