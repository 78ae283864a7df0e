"""A real HTTP receiver on 127.0.0.1 that records every webhook request it gets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float
    status: int


@dataclass
class Receiver:
    """Answers 200, except: the first `fail_first` requests per webhook-id (503), or all of
    them while `down`; each request is held `delay_seconds`."""

    fail_first: int = 0
    down: bool = False
    delay_seconds: float = 0.0
    url: str = ""
    received: list[Received] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: Request) -> PlainTextResponse:
        started = time.monotonic()
        body = await request.body()
        webhook_id = request.headers.get("webhook-id", "")
        self._seen[webhook_id] += 1
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        failing = self.down or self._seen[webhook_id] <= self.fail_first
        status = 503 if failing else 200
        self.received.append(
            Received(webhook_id, dict(request.headers), body, started, time.monotonic(), status)
        )
        return PlainTextResponse("down" if failing else "ok", status_code=status)

    def ok(self) -> list[Received]:
        return [r for r in self.received if r.status == 200]

    def by_id(self, webhook_id: str) -> list[Received]:
        return [r for r in self.received if r.webhook_id == webhook_id]


@asynccontextmanager
async def serving(app: object, *, port: int = 0) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in this event loop; yields its base URL."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on" if port else "off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_receiver(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with serving(app) as base:
        receiver.url = f"{base}/hook"
        yield receiver
