"""Bodies of the back-office API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from moneyrail.auth.roles import Role
from moneyrail.core import limits


class ClientCreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.operator
    scopes: list[str] | None = Field(default=None, max_length=limits.client_scopes_max)
    description: str | None = Field(default=None, max_length=2000)
    contact_email: EmailStr | None = None


class ClientUpdateIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    scopes: list[str] | None = Field(default=None, max_length=limits.client_scopes_max)
    description: str | None = Field(default=None, max_length=2000)
    contact_email: EmailStr | None = None
    status: Literal["active", "disabled"] | None = None


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    description: str | None
    contact_email: str | None
    role: Role
    scopes: list[str]
    status: str
    secret_last4: str
    created_by: str | None
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ClientCreatedOut(ClientOut):
    client_secret: str = Field(description="Shown only in this response.")


class UserCreateIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=limits.password_length_max)
    role: Role = Role.viewer
    name: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=32)


class UserOut(BaseModel):
    id: str
    email: str
    name: str | None
    mobile: str | None
    role: Role
    status: str
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class RoleIn(BaseModel):
    role: Role


class AuditLogOut(BaseModel):
    id: str
    tenant_id: str
    seq: int
    created_at: datetime
    actor_type: str | None
    actor_id: str | None
    action: str
    target_type: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str
    prev_hash: str


class DashboardOut(BaseModel):
    tenant_id: str | None
    users: int
    clients: int
    api_keys: int
    requests_today: int
    audit_events_today: int
    rate_limit_backend: str
