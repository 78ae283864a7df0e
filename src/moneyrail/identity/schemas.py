"""Request and response bodies of the identity API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from moneyrail.auth.roles import Role
from moneyrail.core import limits

Environment = Literal["test", "live"]
Password = Field(min_length=1, max_length=limits.password_length_max)


class SignupIn(BaseModel):
    email: EmailStr
    password: str = Password
    organization_name: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=limits.jwt_length_max)


class SigninJsonIn(BaseModel):
    username: str = Field(min_length=1, max_length=320)
    password: str = Password


class OtpRequestIn(BaseModel):
    email: EmailStr


class OtpLoginIn(BaseModel):
    email: EmailStr
    otp: str = Field(min_length=1, max_length=16)


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class ChangePasswordIn(BaseModel):
    current_password: str = Password
    new_password: str = Password


class MeUpdateIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    mobile: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    contact_email: EmailStr | None = None


class MeOut(BaseModel):
    actor_type: str
    id: str
    tenant_id: str | None
    role: Role
    scopes: list[str]
    environment: Environment
    is_platform_admin: bool = False
    email: str | None = None
    name: str | None = None
    mobile: str | None = None
    description: str | None = None
    contact_email: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class VerifyOut(BaseModel):
    valid: bool = True
    actor_type: str
    subject: str
    tenant_id: str | None
    role: Role
    scopes: list[str]
    environment: Environment


class ApiKeyCreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role | None = None
    scopes: list[str] | None = Field(default=None, max_length=limits.client_scopes_max)
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


class IntrospectionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool
