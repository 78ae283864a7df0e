"""Bodies of the back-office API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.auth.roles import Role
from moneyrail.core import limits
from moneyrail.core.types import Email

# identity.schemas is identity's public schemas module: the field types and bodies it shares.
from moneyrail.identity.schemas import (
    ClientCreatedOut,
    ClientOut,
    Description,
    Mobile,
    NewPassword,
    PersonName,
    RoleChangeOut,
    Scopes,
    UserOut,
)


class ClientCreateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Reconciliation service",
                    "role": "operator",
                    "scopes": ["ledger:read", "payments:read"],
                    "description": "Nightly settlement reconciliation.",
                    "contact_email": "ops@example.com",
                }
            ]
        }
    )

    name: PersonName
    role: Role = Role.operator
    scopes: Scopes | None = None
    description: Description | None = None
    contact_email: Email | None = None


class ClientUpdateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Settlement reconciliation.", "status": "disabled"}]
        }
    )

    name: PersonName | None = None
    role: Role | None = None
    scopes: Scopes | None = None
    description: Description | None = None
    contact_email: Email | None = None
    status: Literal["active", "disabled"] | None = None


class UserCreateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "analyst@example.com",
                    "password": "correct horse battery staple",
                    "role": "viewer",
                    "name": "Arjun Mehta",
                    "mobile": "+15005550006",
                }
            ]
        }
    )

    email: Email
    password: str = NewPassword
    role: Role = Role.viewer
    name: str | None = Field(default=None, max_length=limits.person_name_length_max)
    mobile: Mobile | None = None


class RoleIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "operator", "revoke_api_keys": False}]}
    )

    role: Role
    revoke_api_keys: bool = Field(
        default=False,
        description="On a demotion, also revoke the API keys the user minted.",
    )


class UserStatusIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "disabled"}]})

    status: Literal["active", "disabled"]


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


__all__ = ["ClientCreatedOut", "ClientOut", "RoleChangeOut", "UserOut"]
