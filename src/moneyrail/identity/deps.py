"""Authentication and authorization dependencies.

Every endpoint declares what it needs with one dependency, e.g.

    LedgerWrite = Annotated[AuthSubject, Depends(require(scope="ledger:write"))]

    @router.post("/transfers")
    async def create(subject: LedgerWrite, session: SessionDep) -> ...

Credentials: `Authorization: Bearer <jwt>`, `Authorization: Bearer mr_…` or `X-API-Key: mr_…`.
Anything not declared is denied. After authentication the transaction is bound to the
subject's tenant, so row-level security filters every later query of the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from moneyrail.audit.context import bind_request
from moneyrail.core.db import SessionDep, set_tenant
from moneyrail.core.errors import Forbidden, Unauthorized
from moneyrail.identity import keys
from moneyrail.identity.roles import Role, role_at_least
from moneyrail.identity.subject import AuthSubject

_bearer = HTTPBearer(auto_error=False, description="A JWT access token or an API key (mr_…)")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")

# Resolvers for bearer tokens that are not API keys (JWT access tokens); the token module
# registers itself here so this module stays free of token details.
BearerResolver = Callable[[Request, object, str], Awaitable[AuthSubject]]
_bearer_resolvers: list[BearerResolver] = []


def register_bearer_resolver(resolver: BearerResolver) -> None:
    if resolver not in _bearer_resolvers:
        _bearer_resolvers.append(resolver)


def _bearer_token(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer …` header (as `HTTPBearer` reads them)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


async def authenticate(request: Request, session: SessionDep) -> AuthSubject:
    """Resolve the caller from its credential and bind the transaction to its tenant.

    The headers are read here rather than through `HTTPBearer`/`APIKeyHeader` dependencies:
    this runs on every request, and the OpenAPI document declares both schemes for every
    operation that depends on it (`security_requirements`).

    Raises:
        Unauthorized: no credential, or one that is unknown, expired or revoked.
    """
    from moneyrail.identity.service import identity as identity_service

    bind_request(request)
    api_key = request.headers.get("x-api-key") or None
    token = api_key or _bearer_token(request)
    if not token:
        raise Unauthorized("send an API key (X-API-Key) or a bearer token")
    if keys.looks_like_key(token):
        # Binds the transaction to the key's tenant in the same statement as the lookup.
        subject = await identity_service.authenticate_api_key(session, key=token)
    elif _bearer_resolvers and api_key is None:
        subject = await _resolve_bearer(request, session, token)
        await set_tenant(session, subject.tenant_id)
    else:
        raise Unauthorized("the credential is not valid")
    request.state.subject = subject
    return subject


async def _resolve_bearer(request: Request, session: object, token: str) -> AuthSubject:
    last_error: Unauthorized | None = None
    for resolver in _bearer_resolvers:
        try:
            return await resolver(request, session, token)
        except Unauthorized as exc:
            last_error = exc
    raise last_error or Unauthorized("the credential is not valid")


def require(
    *, scope: str | None = None, role: Role | None = None
) -> Callable[..., Awaitable[AuthSubject]]:
    """A dependency that authenticates and then demands `scope` and/or at least `role`.

    Raises:
        Forbidden: the subject lacks the scope or the role.
    """

    async def dependency(
        subject: Annotated[AuthSubject, Depends(authenticate)],
    ) -> AuthSubject:
        if scope is not None and not subject.has_scope(scope):
            raise Forbidden(f"this action needs the {scope!r} permission")
        if role is not None and not role_at_least(subject.role, role):
            raise Forbidden(f"this action needs the {role.value} role or higher")
        return subject

    return dependency


Authenticated = Annotated[AuthSubject, Depends(authenticate)]

# How the OpenAPI document names the two credential schemes.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": _bearer.model.description or "",
    },
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": _api_key_header.model.description or "",
    },
}


def requires_credentials(dependant: Any) -> bool:
    """Whether an endpoint's dependency tree authenticates its caller."""
    return any(
        dependency.call is authenticate or requires_credentials(dependency)
        for dependency in dependant.dependencies
    )
