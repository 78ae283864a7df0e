"""Identity's credentials, registered with the permissions kernel: API keys (looked up in
the database, which binds the transaction to the key's tenant) and JWT access tokens."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.credentials import register_bearer_resolver, register_key_resolver
from moneyrail.auth.subject import AuthSubject
from moneyrail.identity import keys
from moneyrail.identity.service import identity
from moneyrail.identity.tokens import resolve_jwt


async def resolve_api_key(session: AsyncSession, token: str) -> AuthSubject:
    return await identity.authenticate_api_key(session, key=token)


def register() -> None:
    """Register identity's resolvers (again at start-up: registering twice is harmless)."""
    register_key_resolver(keys.KEY_PREFIXES, resolve_api_key)
    register_bearer_resolver(resolve_jwt)


register()
