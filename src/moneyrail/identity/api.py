"""The identity API: `/auth/*` (see api_auth.py), `/api-keys` and the published JWKS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import Unprocessable, problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params

# Imported for its side effect: identity's credential resolvers join the permissions kernel.
from moneyrail.identity import api_auth, api_oauth, resolvers  # noqa: F401
from moneyrail.identity.auth import ApiKeysRead, ApiKeysWrite
from moneyrail.identity.schemas import ApiKeyCreatedOut, ApiKeyCreateIn, ApiKeyOut
from moneyrail.identity.service import identity
from moneyrail.identity.tokens import config_of
from moneyrail.identity.views import api_key_created_out, api_key_out

router = APIRouter()
router.include_router(api_oauth.router)
router.include_router(api_auth.router)

keys_router = APIRouter(prefix="/api-keys", tags=["identity"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


class ExpiryInPast(Unprocessable):
    code = "expiry_in_past"
    title = "Expiry in the past"


def check_expiry(expires_at: datetime | None) -> None:
    """Raises ExpiryInPast."""
    if expires_at is not None:
        aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if aware <= datetime.now(UTC):
            raise ExpiryInPast("expires_at must be in the future")


@keys_router.get("", summary="List the tenant's API keys", response_model=Page[ApiKeyOut])
async def list_keys(subject: ApiKeysRead, session: SessionDep, params: Paging) -> Page[ApiKeyOut]:
    rows, cursor = await identity.list_api_keys(session, tenant_id=subject.tenant_id, params=params)
    return Page(data=[api_key_out(r) for r in rows], next_cursor=cursor)


@keys_router.post(
    "",
    status_code=201,
    summary="Create an API key (the key is shown once)",
    response_model=ApiKeyCreatedOut,
    responses=problem_responses(403, 422),
)
@idempotent(sealed=True)
async def create_key(
    body: ApiKeyCreateIn, subject: ApiKeysWrite, session: SessionDep
) -> ApiKeyCreatedOut:
    check_expiry(body.expires_at)
    issued = await identity.create_api_key(
        session,
        subject=subject,
        name=body.name,
        role=body.role,
        environment=body.environment,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return api_key_created_out(issued.record, issued.key)


@keys_router.delete(
    "/{key_id}",
    summary="Revoke an API key",
    response_model=ApiKeyOut,
    responses=problem_responses(403, 404),
)
async def revoke_key(key_id: str, subject: ApiKeysWrite, session: SessionDep) -> ApiKeyOut:
    return api_key_out(await identity.revoke_api_key(session, subject=subject, key_id=key_id))


router.include_router(keys_router)


@router.get(
    "/.well-known/jwks.json",
    tags=["identity"],
    summary="Public keys that verify access tokens (RS256; empty for HS256)",
)
async def jwks(request: Request) -> dict[str, Any]:
    return {"keys": config_of(request).public_jwks}
