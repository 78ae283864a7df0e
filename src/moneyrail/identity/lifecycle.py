"""Identity at start-up: register its credential resolvers with the permissions kernel and
build the token configuration once (keys, argon2 parameters); at shutdown: close the rate
limiter's connections."""

from __future__ import annotations

from fastapi import FastAPI

from moneyrail.core.ratelimit import close_rate_limiter
from moneyrail.identity import resolvers
from moneyrail.identity.config import auth_config


async def startup(app: FastAPI) -> None:
    resolvers.register()
    auth_config(app.state.settings)


async def shutdown(app: FastAPI) -> None:
    await close_rate_limiter(app)
