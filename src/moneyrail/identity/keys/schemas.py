"""API keys' bodies, and the scope and environment types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.auth.roles import ALL_SCOPES, Role
from moneyrail.core import limits
from moneyrail.core.types import EnumString, str_enum

Environment = Literal["test", "live"]
Scope = str_enum("Scope", ALL_SCOPES, "A permission: `domain:read`, `domain:write`, …")
ScopeName = Annotated[str, EnumString(Scope, message="{value!r} is not a known scope")]
Scopes = Annotated[list[ScopeName], Field(max_length=limits.client_scopes_max)]


class ApiKeyCreateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "checkout backend",
                    "role": "operator",
                    "scopes": ["payments:read", "payments:write"],
                    "environment": "test",
                    "expires_at": "2027-01-01T00:00:00Z",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=limits.person_name_length_max)
    role: Role | None = None
    scopes: Scopes | None = None
    environment: Environment = "test"
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    last4: str
    environment: Environment
    role: Role
    scopes: list[str]
    client_id: str | None
    created_by: str | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key. It is shown only in this response.")
