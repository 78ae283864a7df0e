"""Identity at start-up: build the token configuration once (keys, argon2 parameters)."""

from __future__ import annotations

from fastapi import FastAPI

from moneyrail.identity.config import auth_config


async def startup(app: FastAPI) -> None:
    auth_config(app.state.settings)


async def shutdown(app: FastAPI) -> None:
    return None
