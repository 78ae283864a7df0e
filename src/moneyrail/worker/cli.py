"""`moneyrail worker`: the outbox relay, the pumps domains register and scheduled jobs."""

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
        metrics_port: Annotated[
            int | None,
            typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT (default: off)."),
        ] = None,
    ) -> None:
        """Deliver outbox events, webhooks and messages, and run scheduled jobs (until SIGTERM)."""
        from moneyrail.core.startup import resolve_database_url, settings_or_exit
        from moneyrail.worker.runner import serve

        settings = settings_or_exit()
        resolve_database_url(settings)
        from moneyrail.core.settings import get_settings

        settings = get_settings()
        if concurrency is not None:
            settings = settings.model_copy(update={"worker_concurrency": concurrency})
        if metrics_port is not None:
            from prometheus_client import start_http_server

            from moneyrail.core.metrics import registry

            start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
        asyncio.run(serve(settings, worker_id=worker_id))
