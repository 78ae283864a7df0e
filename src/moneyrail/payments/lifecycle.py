"""Startup of the payments domain: route test-mode provider calls to the in-process sandboxes.

When the API serves the sandboxes itself (`/sandbox`, outside production), test-mode calls
reach them through an ASGI transport instead of a loopback HTTP connection, so development
and tests need no second server and no open port. Live mode never uses it. Shutdown closes
the provider connectors the process kept open.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.routing import Mount

SANDBOX_MOUNT = "/sandbox"


async def startup(app: FastAPI) -> None:
    if getattr(app.state, "provider_transport", None) is not None:
        return
    for route in app.routes:
        if isinstance(route, Mount) and route.path == SANDBOX_MOUNT:
            app.state.provider_transport = httpx.ASGITransport(
                app=route.app, root_path=SANDBOX_MOUNT
            )
            return


async def shutdown(app: FastAPI) -> None:
    runtime = getattr(app.state, "payments_runtime", None)
    if runtime is not None:
        await runtime.connectors.aclose()
    transport = getattr(app.state, "provider_transport", None)
    if isinstance(transport, httpx.ASGITransport):
        await transport.aclose()
