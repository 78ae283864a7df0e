"""Startup: put the explicit Twilio/Resend callback routes ahead of any generic
`/webhooks/providers/{provider}` route another module mounts before this one."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import BaseRoute

from moneyrail.messaging.api import RESEND_CALLBACK_PATH, TWILIO_CALLBACK_PATH

EXPLICIT_PATHS = {f"/api/v1{TWILIO_CALLBACK_PATH}", f"/api/v1{RESEND_CALLBACK_PATH}"}


def prioritise_provider_routes(app: FastAPI) -> None:
    routes: list[BaseRoute] = app.router.routes
    explicit = [r for r in routes if getattr(r, "path", None) in EXPLICIT_PATHS]
    if not explicit:
        return
    rest = [r for r in routes if r not in explicit]
    routes[:] = explicit + rest


async def startup(app: FastAPI) -> None:
    prioritise_provider_routes(app)
