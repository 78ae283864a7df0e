"""The whole app served over real HTTP on 127.0.0.1 (its sandboxes mounted at /sandbox), so
sandboxes can call back, and an in-process worker with the same settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core.db import Database
from moneyrail.core.settings import Settings
from moneyrail.main import create_app
from moneyrail.worker.runner import Worker
from tests.webhooks.conftest import fast_settings
from tests.webhooks.receiver import free_port, serving


@dataclass
class LiveServer:
    url: str
    settings: Settings
    worker: Worker

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


@asynccontextmanager
async def live_server_context(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LiveServer]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app_settings = fast_settings(
        settings, public_base_url=base, messaging_sandbox_url=f"{base}/sandbox"
    )
    async with serving(create_app(app_settings), port=port) as url:
        worker = Worker(app_settings, db=Database(engine), worker_id="messaging-test")
        try:
            yield LiveServer(url=url, settings=app_settings, worker=worker)
        finally:
            await worker.aclose()
