"""`moneyrail worker`: the outbox relay, webhook deliveries and scheduled jobs."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def register(root: typer.Typer) -> None:
    @root.command()
    def worker(
        worker_id: Annotated[
            str | None, typer.Option("--id", help="A name for this worker in logs and attempts.")
        ] = None,
        concurrency: Annotated[
            int | None,
            typer.Option(min=1, help="Deliveries in flight (default: WORKER_CONCURRENCY)."),
        ] = None,
    ) -> None:
        """Deliver outbox events, webhooks and messages, and run scheduled jobs (until SIGTERM)."""
        from moneyrail.cli import _settings_or_exit, resolve_database_url
        from moneyrail.worker.runner import serve

        settings = _settings_or_exit()
        resolve_database_url(settings)
        from moneyrail.core.settings import get_settings

        settings = get_settings()
        if concurrency is not None:
            settings = settings.model_copy(update={"worker_concurrency": concurrency})
        asyncio.run(serve(settings, worker_id=worker_id))
