from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core.settings import Settings
from tests.messaging.server import LiveServer, live_server_context


@pytest_asyncio.fixture
async def live_server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LiveServer]:
    async with live_server_context(settings, engine) as server:
        yield server
