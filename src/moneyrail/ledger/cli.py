"""`moneyrail ledger …` commands."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer(help="Ledger maintenance.", no_args_is_help=True)


@app.command("expire-pending")
def expire_pending() -> None:
    """Void every pending transfer whose timeout has passed (the worker does this too)."""
    from moneyrail.cli import _settings_or_exit, resolve_database_url
    from moneyrail.core.db import create_engine
    from moneyrail.ledger.tasks import expire_pending as run

    settings = _settings_or_exit()
    url = resolve_database_url(settings)

    async def main() -> int:
        engine = create_engine(settings, url=url)
        try:
            return await run(engine)
        finally:
            await engine.dispose()

    typer.echo(f"expired {asyncio.run(main())} pending transfers")
