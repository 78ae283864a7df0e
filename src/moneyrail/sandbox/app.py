"""All provider sandboxes on one ASGI app, each under `/<provider>`.

`moneyrail sandbox serve` runs it on its own port with open test hooks
(`create_standalone_app`); the API mounts `create_sandbox_app()` at `/sandbox` outside
production, where `HookGuard` holds the test hooks to a tenant's test-mode credential and
webhooks to the tenant's own inbound address (see `sandbox.guard`). A provider's module
`moneyrail.sandbox.<provider>` exposes `create_app()`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from moneyrail.domains import optional_module
from moneyrail.sandbox.guard import HookGuard
from moneyrail.sandbox.providers import PROVIDERS


def available_providers() -> list[str]:
    return [p for p in PROVIDERS if optional_module(f"sandbox.{p}") is not None]


def create_sandbox_app(*, open_hooks: bool = False) -> ASGIApp:
    """Every sandbox on one app. By default (the API's mount) the test hooks answer only to a
    tenant's test-mode credential; `open_hooks=True` is for the sandboxes' own port."""
    app = _all_sandboxes()
    return app if open_hooks else HookGuard(app)


def create_standalone_app() -> ASGIApp:
    """The app `moneyrail sandbox serve` runs on its own port: test hooks need no credential."""
    return create_sandbox_app(open_hooks=True)


def _all_sandboxes() -> Starlette:
    mounts: list[Route | Mount] = []
    for provider in PROVIDERS:
        module = optional_module(f"sandbox.{provider}")
        if module is not None:
            mounts.append(Mount(f"/{provider}", app=module.create_app()))

    async def index(_: Request) -> JSONResponse:
        return JSONResponse({"providers": available_providers()})

    return Starlette(routes=[Route("/", index), *mounts])
