"""Fixtures for the oracle tests: official SDKs need a real URL to talk to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from moneyrail.sandbox.app import create_sandbox_app

SERVER_START_SECONDS = 10.0


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[str]:
    """`create_sandbox_app(open_hooks=True)` served by uvicorn on a free 127.0.0.1 port in a background
    thread; yields its base URL (each provider under `/<provider>`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_sandbox_app(open_hooks=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(SERVER_START_SECONDS)
