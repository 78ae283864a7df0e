"""OAuth2 clients' bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.auth.roles import Role


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
