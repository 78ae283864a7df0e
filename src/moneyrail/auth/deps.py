"""Authentication and authorization dependencies.

Every endpoint declares what it needs with one typed alias from its domain's `auth.py`:

    LedgerWrite = Annotated[AuthSubject, Depends(require(scope="ledger:write"))]

    @router.post("/transfers")
    async def create(subject: LedgerWrite, session: SessionDep) -> ...

Credentials: `Authorization: Bearer <jwt>`, `Authorization: Bearer mr_…` or `X-API-Key: mr_…`,
resolved by the resolvers registered in `auth.credentials`. Anything not declared is denied.
After authentication the transaction is bound to the subject's tenant, so row-level security
filters every later query of the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.credentials import bearer_resolvers, key_resolver_for
from moneyrail.auth.roles import Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import pagination
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import Forbidden, Unauthorized
from moneyrail.core.request_context import bind_request

bearer_scheme = HTTPBearer(auto_error=False, description="A JWT access token or an API key (mr_…)")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")


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
    operation that depends on it (`requires_credentials`).

    Raises:
        Unauthorized: no credential, or one that is unknown, expired or revoked.
    """
    bind_request(request)
    api_key = request.headers.get("x-api-key") or None
    bearer = _bearer_token(request)
    if api_key is not None and request.headers.get("authorization") is not None:
        # Two credentials that may name different callers: answering for either would let a
        # bad one pass beside a good one.
        raise Unauthorized("send one credential: X-API-Key or Authorization, not both")
    token = api_key or bearer
    if not token:
        raise Unauthorized("send an API key (X-API-Key) or a bearer token")
    resolve_key = key_resolver_for(token)
    if resolve_key is not None:
        # Binds the transaction to the key's tenant in the same statement as the lookup.
        subject = await resolve_key(session, token)
    elif api_key is None:
        # The resolver binds the transaction to the subject's tenant too, in the statement
        # that checks the credential is still live.
        subject = await _resolve_bearer(request, session, token)
    else:
        raise Unauthorized("the credential is not valid")
    request.state.subject = subject
    pagination.bind_scope(subject.tenant_id)
    return subject


async def _resolve_bearer(request: Request, session: AsyncSession, token: str) -> AuthSubject:
    last_error: Unauthorized | None = None
    for resolver in bearer_resolvers():
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
        "description": bearer_scheme.model.description or "",
    },
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": api_key_scheme.model.description or "",
    },
}


def requires_credentials(dependant: Any) -> bool:
    """Whether an endpoint's dependency tree authenticates its caller."""
    return any(
        dependency.call is authenticate or requires_credentials(dependency)
        for dependency in dependant.dependencies
    )
