"""Run Alembic migrations programmatically (used by the CLI, `serve` and the tests)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import moneyrail


def migrations_dir() -> Path:
    packaged = Path(moneyrail.__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(moneyrail.__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> list[str]:
    """The revisions the database is at (one per branch head)."""

    async def _read() -> list[str]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                heads = await conn.run_sync(
                    lambda c: MigrationContext.configure(c).get_current_heads()
                )
        finally:
            await engine.dispose()
        return list(heads)

    return asyncio.run(_read())
