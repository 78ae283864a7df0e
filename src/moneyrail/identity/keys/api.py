"""`/api-keys`: list, create (the key is shown once) and revoke the tenant's API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params
from moneyrail.identity.keys.auth import ApiKeysRead, ApiKeysWrite
from moneyrail.identity.keys.schemas import ApiKeyCreatedOut, ApiKeyCreateIn, ApiKeyOut
from moneyrail.identity.keys.service import api_keys, check_expiry
from moneyrail.identity.keys.views import api_key_created_out, api_key_out

router = APIRouter(prefix="/api-keys", tags=["identity"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("", summary="List the tenant's API keys", response_model=Page[ApiKeyOut])
async def list_keys(subject: ApiKeysRead, session: SessionDep, params: Paging) -> Page[ApiKeyOut]:
    """The tenant's API keys, newest id last, revoked and expired ones included. Only the
    last four characters of each key are shown; the key itself never is."""
    rows, cursor = await api_keys.list_keys(session, tenant_id=subject.tenant_id, params=params)
    return Page(data=[api_key_out(r) for r in rows], next_cursor=cursor)


@router.post(
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
    """Create an API key for the tenant; the full key is in this response only (a replay
    with the same Idempotency-Key returns it again, stored encrypted). Fails with 403 for a
    role above the caller's and 422 for scopes beyond the role or an expiry in the past."""
    check_expiry(body.expires_at)
    issued = await api_keys.create(
        session,
        subject=subject,
        name=body.name,
        role=body.role,
        environment=body.environment,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return api_key_created_out(issued.record, issued.key)


@router.delete(
    "/{key_id}",
    summary="Revoke an API key",
    response_model=ApiKeyOut,
    responses=problem_responses(403, 404),
)
async def revoke_key(key_id: str, subject: ApiKeysWrite, session: SessionDep) -> ApiKeyOut:
    """Revoke an API key of the tenant at once; revoking twice is harmless. Fails with 404
    for an unknown key and 403 for a key with a higher role than the caller's."""
    return api_key_out(await api_keys.revoke(session, subject=subject, key_id=key_id))
