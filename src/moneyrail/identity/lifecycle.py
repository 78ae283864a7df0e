"""Identity at start-up: register its credential resolvers with the permissions kernel (API
keys, looked up in the database, which binds the transaction to the key's tenant; JWT access
tokens) and build the token configuration once (keys, argon2 parameters); at shutdown:
close the rate limiter's connections."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.credentials import register_bearer_resolver, register_key_resolver
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.ratelimit import close_rate_limiter
from moneyrail.identity.keys import material
from moneyrail.identity.keys.service import api_keys
from moneyrail.identity.sessions.service import resolve_bearer
from moneyrail.identity.tokens.config import auth_config


async def resolve_api_key(session: AsyncSession, token: str) -> AuthSubject:
    return await api_keys.authenticate(session, key=token)


def register() -> None:
    """Register identity's resolvers (again at start-up: registering twice is harmless)."""
    register_key_resolver(material.KEY_PREFIXES, resolve_api_key)
    register_bearer_resolver(resolve_bearer)


async def startup(app: FastAPI) -> None:
    register()
    auth_config(app.state.settings)


async def shutdown(app: FastAPI) -> None:
    await close_rate_limiter(app)


register()
