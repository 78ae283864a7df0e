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
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from moneyrail.core import limits
from moneyrail.core.fastpath import Driver as Driver
from moneyrail.core.fastpath import driver as driver
from moneyrail.core.settings import Settings

if TYPE_CHECKING:
    pass

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
