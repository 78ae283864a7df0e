"""The resolver registry: how a credential becomes an `AuthSubject`.

The kernel knows no credential format. The domain that issues credentials registers a
resolver for each kind at import (and again at start-up; registering twice is harmless):

* a *key* resolver, for tokens starting with one of its prefixes, sent as `X-API-Key` or
  `Authorization: Bearer`. It binds the transaction to the key's tenant itself (in the
  statement that looks the key up);
* *bearer* resolvers, for any other `Authorization: Bearer` token (JWT access tokens),
  tried in turn; a resolver binds the transaction to its subject's tenant itself (in the
  statement that checks the credential is still live).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject

KeyResolver = Callable[[AsyncSession, str], Awaitable[AuthSubject]]
BearerResolver = Callable[[Request, AsyncSession, str], Awaitable[AuthSubject]]


@dataclass(frozen=True)
class _KeyKind:
    prefixes: tuple[str, ...]
    resolve: KeyResolver


_key_kinds: list[_KeyKind] = []
_bearer_resolvers: list[BearerResolver] = []


def register_key_resolver(prefixes: tuple[str, ...], resolver: KeyResolver) -> None:
    """Resolve tokens starting with one of `prefixes`; `resolver` binds the tenant itself."""
    kind = _KeyKind(prefixes, resolver)
    if kind not in _key_kinds:
        _key_kinds.append(kind)


def register_bearer_resolver(resolver: BearerResolver) -> None:
    """Resolve `Authorization: Bearer` tokens that no key resolver claims; `resolver` binds
    the tenant itself."""
    if resolver not in _bearer_resolvers:
        _bearer_resolvers.append(resolver)


def key_resolver_for(token: str) -> KeyResolver | None:
    for kind in _key_kinds:
        if token.startswith(kind.prefixes):
            return kind.resolve
    return None


def bearer_resolvers() -> list[BearerResolver]:
    return _bearer_resolvers
