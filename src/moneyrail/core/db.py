"""Database engine, the request-owned session, and the tenant scope for row-level security.

The request owns the transaction: `get_session` opens one session per request inside a
transaction, commits it when the handler succeeds and rolls it back when anything raises.
Services only `flush()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from pydantic_core import to_json
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from moneyrail.core import limits
from moneyrail.core.settings import Settings

if TYPE_CHECKING:
    import asyncpg

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_SETTING = "app.tenant_id"
BYPASS_SETTING = "app.bypass_rls"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(
    settings: Settings, *, url: str | None = None, app_role: bool = True
) -> AsyncEngine:
    """An engine for `url` (default: the settings'); `app_role` switches to the RLS-bound role."""
    database_url = url or settings.database_url
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set and no embedded database was started")
    server_settings: dict[str, str] = {"application_name": "moneyrail"}
    if app_role and settings.database_app_role:
        server_settings["role"] = settings.database_app_role
    if settings.database_statement_timeout_ms:
        # Bounds every statement of every transaction on these connections (requests, jobs).
        server_settings["statement_timeout"] = str(settings.database_statement_timeout_ms)
    return create_async_engine(
        database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        pool_pre_ping=settings.database_pool_pre_ping,
        pool_recycle=settings.database_pool_recycle,
        echo=settings.database_echo,
        connect_args={
            "server_settings": server_settings,
            "timeout": limits.database_connect_timeout_seconds,
        },
    )


@dataclass
class Database:
    """The process's engine and session factory, kept on `app.state.db`."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


def database_of(request: Request) -> Database:
    db = request.app.state.db
    assert isinstance(db, Database)
    return db


# Marks a request's session (`get_session`): its pre-commit hooks are sure to run.
REQUEST_SESSION = "moneyrail.request"

PreCommitHook = Callable[[AsyncSession], Awaitable[None]]
_PRE_COMMIT_KEY = "moneyrail.pre_commit"


def on_before_commit(session: AsyncSession, key: str, hook: PreCommitHook) -> None:
    """Run `hook` once, as the last statement before this transaction commits.

    For work that must hold a lock only briefly (e.g. appending to a hash chain), so the
    lock is taken at the end of the transaction instead of in the middle of it.
    """
    hooks: dict[str, PreCommitHook] = session.info.setdefault(_PRE_COMMIT_KEY, {})
    hooks.setdefault(key, hook)


async def run_before_commit(session: AsyncSession) -> None:
    hooks: dict[str, PreCommitHook] = session.info.pop(_PRE_COMMIT_KEY, {})
    for hook in hooks.values():
        await hook(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the handler returns, rolled back if it raises."""
    session_factory = getattr(request.app.state, "session_factory", None)
    # Tests substitute a factory bound to a connection that is rolled back afterwards.
    factory = session_factory or database_of(request).sessionmaker
    async with factory() as session, session.begin():
        session.info[REQUEST_SESSION] = True
        try:
            yield session
        except BaseException:
            session.info.pop(_PRE_COMMIT_KEY, None)
            raise
        await run_before_commit(session)


# The session closes (and commits) before the response is sent, so a client never sees a
# success whose transaction then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


_DRIVER_KEY = "moneyrail.driver"


class Driver:
    """The asyncpg connection of a session's transaction, for hot-path statements.

    Statements run in the same transaction as the session's, without the ORM's
    per-execution work (several times what the driver itself costs). Errors surface as the
    same SQLAlchemy exceptions `session.execute` raises (`IntegrityError`, `DBAPIError`
    with the driver's error as `orig`), so callers handle one family of errors.
    """

    __slots__ = ("_connection", "_dbapi")

    def __init__(self, connection: asyncpg.Connection, dbapi: Any) -> None:
        self._connection = connection
        self._dbapi = dbapi

    async def fetchrow(self, query: str, *args: Any) -> Any:
        try:
            return await self._connection.fetchrow(query, *args)
        except Exception as exc:
            raise self._translate(query, args, exc) from exc

    async def fetchval(self, query: str, *args: Any) -> Any:
        try:
            return await self._connection.fetchval(query, *args)
        except Exception as exc:
            raise self._translate(query, args, exc) from exc

    async def execute(self, query: str, *args: Any) -> str:
        try:
            status: str = await self._connection.execute(query, *args)
            return status
        except Exception as exc:
            raise self._translate(query, args, exc) from exc

    def _translate(self, query: str, args: tuple[Any, ...], error: Exception) -> BaseException:
        mapping: dict[type, type] = getattr(self._dbapi, "_asyncpg_error_translate", {})
        for cls in type(error).__mro__:
            if cls in mapping:
                adapted = mapping[cls](error.args[0] if error.args else str(error), error)
                translated: BaseException = DBAPIError.instance(
                    query, args, adapted, self._dbapi.Error
                )
                return translated
        return error


async def driver(session: AsyncSession) -> Driver:
    """The driver connection of the session's current transaction (see `Driver`).

    Remembered per transaction, so only the first call of a transaction asks the pool.
    Pending ORM changes are flushed first, as `session.execute` would, so a statement on the
    driver sees (and runs after) everything the session was told before it.
    """
    sync = session.sync_session
    if sync.autoflush and not sync._is_clean():
        await session.flush()
    # Keyed by the innermost transaction: a new savepoint (`begin_nested`) is only sent when
    # the session next uses its connection, so that happens here first.
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    cached = session.info.get(_DRIVER_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        found: Driver = cached[1]
        return found
    connection = await session.connection()
    # The session's connection is checked out already, so its pooled DBAPI connection is a
    # plain attribute (what `get_raw_connection()` returns, without a greenlet round trip).
    fairy = connection.sync_connection.connection if connection.sync_connection else None
    if fairy is None:
        fairy = await connection.get_raw_connection()
    assert fairy.driver_connection is not None
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement. A statement
    # sent straight to the driver before that would run outside the transaction (and a
    # transaction-local setting would vanish with it), so the adapter starts it now.
    adapter: Any = fairy.dbapi_connection
    if adapter._transaction is None and adapter.isolation_level != "autocommit":
        await adapter._start_transaction()
    wrapped = Driver(fairy.driver_connection, connection.dialect.dbapi)
    session.info[_DRIVER_KEY] = (sync.get_nested_transaction() or sync.get_transaction(), wrapped)
    return wrapped


def json_column(values: Sequence[Any]) -> str:
    """One column of many rows as a statement parameter: a JSON array (see `json_rows`)."""
    return to_json(values).decode()


def json_rows(*names: str, start: int) -> str:
    """`ROWS FROM (json_array_elements_text($start::text::json), …) AS u(names…)`: rows from
    column parameters made by `json_column`, zipped in order (each value as text).

    The driver's binary arrays cost about five times as much CPU on the application's side
    (every element is checked against the collection types) for a little less on the
    server's, so set-based statements over many rows take their columns this way.
    """
    functions = ", ".join(
        f"json_array_elements_text(${start + n}::text::json)" for n in range(len(names))
    )
    return f"ROWS FROM ({functions}) AS u({', '.join(names)})"


_SET_CONFIG = "SELECT set_config($1, $2, true)"


async def set_tenant(session: AsyncSession, tenant_id: str) -> None:
    """Bind the current transaction to one tenant; RLS policies read this setting."""
    await (await driver(session)).fetchval(_SET_CONFIG, TENANT_SETTING, tenant_id)


async def bypass_tenant_scope(session: AsyncSession) -> None:
    """Let this transaction see every tenant: platform jobs, credential lookup, the outbox relay."""
    await (await driver(session)).fetchval(_SET_CONFIG, BYPASS_SETTING, "on")


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def rls_statements(table: str, *, app_role: str = "moneyrail_app") -> list[str]:
    """DDL enabling tenant isolation on a table with a `tenant_id` column (used by migrations)."""
    predicate = (
        f"(current_setting('{BYPASS_SETTING}', true) = 'on' "
        f"OR tenant_id = current_setting('{TENANT_SETTING}', true))"
    )
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}",
    ]


def row_to_dict(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
