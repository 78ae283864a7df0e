"""`/admin/*`: OAuth2 clients, users, the audit log and the dashboard of a tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from moneyrail.admin.auth import AdminRead, AdminWrite, AuditRead
from moneyrail.admin.schemas import (
    AuditLogOut,
    ClientCreatedOut,
    ClientCreateIn,
    ClientOut,
    ClientUpdateIn,
    DashboardOut,
    RoleChangeOut,
    RoleIn,
    UserCreateIn,
    UserOut,
    UserStatusIn,
)
from moneyrail.admin.service import admin
from moneyrail.audit.models import AuditLog
from moneyrail.audit.service import audit
from moneyrail.auth.tenancy import enter_tenant_scope, tenant_scope
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.core.pagination import Page, PageParams, page_params
from moneyrail.core.ratelimit import limiter_of
from moneyrail.identity.schemas import ApiKeyCreatedOut, ApiKeyCreateIn
from moneyrail.identity.service import identity

router = APIRouter(prefix="/admin", tags=["admin"], route_class=IdempotentRoute)

Paging = Annotated[PageParams, Depends(page_params)]


def audit_out(row: AuditLog) -> AuditLogOut:
    return AuditLogOut.model_validate(row, from_attributes=True)


@router.get(
    "/dashboard",
    summary="Counts of users, clients, keys and today's requests",
    response_model=DashboardOut,
)
async def dashboard(request: Request, subject: AdminRead, session: SessionDep) -> DashboardOut:
    """Counts of the tenant's active users, OAuth2 clients and API keys, today's requests
    and audit events; platform administrators see every tenant."""
    limiter = limiter_of(request.app)
    tenant = tenant_scope(subject)
    try:
        requests_today = await limiter.requests_today(tenant)
    except Exception:
        requests_today = 0
    data = await admin.dashboard(session, subject=subject, requests_today=requests_today)
    return DashboardOut.model_validate({**data, "rate_limit_backend": limiter.backend})


@router.get("/clients", summary="List OAuth2 clients", response_model=Page[ClientOut])
async def list_clients(subject: AdminRead, session: SessionDep, params: Paging) -> Page[ClientOut]:
    """The tenant's OAuth2 clients (the secret is never shown)."""
    rows, cursor = await identity.list_clients(session, tenant_id=subject.tenant_id, params=params)
    return Page(data=rows, next_cursor=cursor)


@router.post(
    "/clients",
    status_code=201,
    summary="Create an OAuth2 client (the secret is shown once)",
    response_model=ClientCreatedOut,
    responses=problem_responses(403, 422),
)
@idempotent(sealed=True)
async def create_client(
    body: ClientCreateIn, subject: AdminWrite, session: SessionDep
) -> ClientCreatedOut:
    """Create an OAuth2 client; its secret is in this response only (a replay with the same
    Idempotency-Key returns it again, stored encrypted). 403 for a role above the caller's,
    422 for scopes beyond the role."""
    return await identity.create_client(
        session,
        subject=subject,
        name=body.name,
        role=body.role,
        scopes=body.scopes,
        description=body.description,
        contact_email=str(body.contact_email) if body.contact_email else None,
    )


@router.put(
    "/clients/{client_id}",
    summary="Update an OAuth2 client",
    response_model=ClientOut,
    responses=problem_responses(403, 404, 422),
)
async def update_client(
    client_id: str, body: ClientUpdateIn, subject: AdminWrite, session: SessionDep
) -> ClientOut:
    """Change a client's name, description, contact, role, scopes or status (disable it).
    404 for an unknown client, 403 for a role above the caller's."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    return await identity.update_client(
        session, subject=subject, client_id=client_id, changes=changes
    )


@router.post(
    "/clients/{client_id}/api-keys",
    status_code=201,
    summary="Create an API key that belongs to a client (shown once)",
    response_model=ApiKeyCreatedOut,
    responses=problem_responses(403, 404, 422),
)
@idempotent(sealed=True)
async def create_client_key(
    client_id: str, body: ApiKeyCreateIn, subject: AdminWrite, session: SessionDep
) -> ApiKeyCreatedOut:
    """Create an API key that belongs to a client, never above its role; the key is in this
    response only. 404 for an unknown client, 422 for an expiry in the past."""
    return await identity.create_client_key(
        session,
        subject=subject,
        client_id=client_id,
        name=body.name,
        role=body.role,
        environment=body.environment,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )


@router.get("/users", summary="List the tenant's users", response_model=Page[UserOut])
async def list_users(subject: AdminRead, session: SessionDep, params: Paging) -> Page[UserOut]:
    """The tenant's users, with their role, status and lockout."""
    rows, cursor = await identity.list_users(session, tenant_id=subject.tenant_id, params=params)
    return Page(data=rows, next_cursor=cursor)


@router.post(
    "/users",
    status_code=201,
    summary="Create a user of the tenant (employees, operators)",
    response_model=UserOut,
    responses=problem_responses(403, 409, 422),
)
@idempotent()
async def create_user(body: UserCreateIn, subject: AdminWrite, session: SessionDep) -> UserOut:
    """Create a user of the tenant (employees, operators), never above the caller's role.
    409 when the e-mail is registered already, 422 for a weak password."""
    return await identity.add_user(
        session,
        subject=subject,
        email=str(body.email),
        password=body.password,
        role=body.role,
        name=body.name,
        mobile=body.mobile,
    )


@router.patch(
    "/users/{user_id}/role",
    summary="Change a user's role",
    response_model=RoleChangeOut,
    responses=problem_responses(403, 404, 409, 422),
)
async def set_role(
    user_id: str, body: RoleIn, subject: AdminWrite, session: SessionDep
) -> RoleChangeOut:
    """Change a user's role; it takes effect on the user's next request. A demotion ends the
    user's sessions and lists the API keys they minted for review (revoked with
    `revoke_api_keys`). 403 for a role above the caller's, 409 for the last owner."""
    return await identity.set_user_role(
        session,
        subject=subject,
        user_id=user_id,
        role=body.role,
        revoke_api_keys=body.revoke_api_keys,
    )


@router.patch(
    "/users/{user_id}/status",
    summary="Disable or enable a user",
    response_model=UserOut,
    responses=problem_responses(403, 404, 409, 422),
)
async def set_status(
    user_id: str, body: UserStatusIn, subject: AdminWrite, session: SessionDep
) -> UserOut:
    """Disable or enable a user of the tenant (audited). Disabling takes effect on the next
    request: the user's access and refresh tokens and the API keys they minted stop working.
    403 for the caller's own account or a role above the caller's, 409 for the last owner."""
    return await identity.set_user_status(
        session, subject=subject, user_id=user_id, status=body.status
    )


@router.get("/audit-logs", summary="The audit log, newest first", response_model=Page[AuditLogOut])
async def audit_logs(
    subject: AuditRead,
    session: SessionDep,
    params: Paging,
    actor: Annotated[str | None, Query(max_length=64, description="Actor id")] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="Action, or a prefix ending in *")
    ] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
    tenant_id: Annotated[
        str | None, Query(max_length=40, description="Platform administrators only")
    ] = None,
) -> Page[AuditLogOut]:
    """The tenant's audit log, newest first, filtered by actor, action, target and time;
    platform administrators may name a tenant."""
    scope_tenant = await enter_tenant_scope(session, subject, requested=tenant_id)
    rows, cursor = await audit.list_logs(
        session,
        tenant_id=scope_tenant,
        params=params,
        actor_id=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return Page(data=[audit_out(r) for r in rows], next_cursor=cursor)
