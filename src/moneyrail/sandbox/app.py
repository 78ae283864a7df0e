"""All provider sandboxes on one ASGI app, each under `/<provider>`.

`moneyrail sandbox serve` runs it on its own port; the API mounts it at `/sandbox` outside
production. A provider's module `moneyrail.sandbox.<provider>` exposes `create_app()`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from moneyrail.domains import optional_module

PROVIDERS = (
    "razorpay",
    "paypal",
    "stripe",
    "paystack",
    "flutterwave",
    "chapa",
    "twilio",
    "resend",
    "bbps",
    "zerodha",
    "upstox",
    "groww",
)


def available_providers() -> list[str]:
    return [p for p in PROVIDERS if optional_module(f"sandbox.{p}") is not None]


def create_sandbox_app() -> Starlette:
    mounts: list[Route | Mount] = []
    for provider in PROVIDERS:
        module = optional_module(f"sandbox.{provider}")
        if module is not None:
            mounts.append(Mount(f"/{provider}", app=module.create_app()))

    async def index(_: Request) -> JSONResponse:
        return JSONResponse({"providers": available_providers()})

    return Starlette(routes=[Route("/", index), *mounts])
