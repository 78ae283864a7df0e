"""What every command does before it runs: settings that are safe to start with, and a
database URL (DATABASE_URL, or the embedded PostgreSQL started in DATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from moneyrail.core.settings import ConfigurationError, Settings, get_settings

console = Console(stderr=True)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with one line saying why they are unsafe to start with."""
    settings = get_settings()
    try:
        settings.check_safe_to_start()
    except ConfigurationError as exc:
        console.print(f"moneyrail: refusing to start: {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from exc
    return settings


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start the embedded PostgreSQL in DATA_DIR."""
    if settings.database_url:
        return settings.database_url
    from moneyrail.core import embedded_pg

    try:
        url = embedded_pg.start(Path(settings.data_dir))
    except embedded_pg.EmbeddedUnavailable as exc:
        console.print(f"moneyrail: {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from exc
    # Child processes (uvicorn workers, reloader) inherit the running server's URL.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url
