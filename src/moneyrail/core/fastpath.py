"""The fast database path: statements sent straight to the asyncpg connection of a
session's transaction, without the ORM's per-execution work (several times what the driver
itself costs).

This is the one module that reaches below SQLAlchemy's public API. It uses the public
`AsyncConnection.sync_connection.connection.driver_connection` chain to reach the driver,
and private details of SQLAlchemy that have no public equivalent as cheap:

* `AsyncAdapt_asyncpg_connection._transaction` / `._start_transaction()`: the adapter sends
  BEGIN lazily with its first statement, so a statement sent straight to the driver would
  otherwise run outside the transaction;
* `AsyncAdapt_asyncpg_dbapi._asyncpg_error_translate`: the map from asyncpg's errors to the
  DB-API exceptions SQLAlchemy raises, so callers handle one family of errors;
* `Session._is_clean()`: whether pending ORM changes must be flushed first (the public
  collections would build three sets per statement).

`check_compatible()` runs at import and fails loudly, naming what changed, if an upgrade
removes any of them (a test also runs it), rather than letting a transaction silently split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.postgresql import asyncpg as sa_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import asyncpg

_DRIVER_KEY = "moneyrail.driver"
_ADAPTER_ATTRIBUTES = ("_transaction", "_start_transaction", "isolation_level")
_SESSION_ATTRIBUTES = ("_is_clean",)
_DBAPI_ATTRIBUTES = ("_asyncpg_error_translate", "Error")


class FastPathUnavailable(RuntimeError):
    """The installed SQLAlchemy no longer has what the fast path relies on."""


def check_compatible() -> None:
    """Raise `FastPathUnavailable` when SQLAlchemy's asyncpg adapter changed under us."""
    adapter = sa_asyncpg.AsyncAdapt_asyncpg_connection
    missing = [
        f"AsyncAdapt_asyncpg_connection.{name}"
        for name in _ADAPTER_ATTRIBUTES
        if not hasattr(adapter, name) and name not in getattr(adapter, "__slots__", ())
    ]
    dbapi = sa_asyncpg.AsyncAdapt_asyncpg_dbapi
    missing += [
        f"AsyncAdapt_asyncpg_dbapi.{name}" for name in _DBAPI_ATTRIBUTES if not hasattr(dbapi, name)
    ]
    missing += [f"Session.{name}" for name in _SESSION_ATTRIBUTES if not hasattr(Session, name)]
    if missing:
        raise FastPathUnavailable(
            "this SQLAlchemy release changed what moneyrail's fast database path uses ("
            + ", ".join(missing)
            + "); install the versions pinned in constraints.txt"
        )


check_compatible()


class Driver:
    """The asyncpg connection of a session's transaction, for hot-path statements.

    Statements run in the same transaction as the session's. Errors surface as the same
    SQLAlchemy exceptions `session.execute` raises (`IntegrityError`, `DBAPIError` with the
    driver's error as `orig`), so callers handle one family of errors.
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
        mapping: dict[type, type] = self._dbapi._asyncpg_error_translate
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
    # `_is_clean` is the check `session.execute` makes before it autoflushes; the public
    # `new`/`dirty`/`deleted` collections would build three sets on every call.
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
    if fairy.driver_connection is None:
        raise FastPathUnavailable("the session's connection has no driver connection")
    adapter: Any = fairy.dbapi_connection
    if adapter._transaction is None and adapter.isolation_level != "autocommit":
        await adapter._start_transaction()
    wrapped = Driver(fairy.driver_connection, connection.dialect.dbapi)
    session.info[_DRIVER_KEY] = (sync.get_nested_transaction() or sync.get_transaction(), wrapped)
    return wrapped
