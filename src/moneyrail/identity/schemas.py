"""Request and response bodies of the identity API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.auth.roles import ALL_SCOPES, Role
from moneyrail.core import limits
from moneyrail.core.types import Email, EnumString, str_enum

Environment = Literal["test", "live"]
Password = Field(min_length=1, max_length=limits.password_length_max)
# A password being set: the policy's length bounds (check_password_policy adds the rest).
NewPassword = Field(min_length=limits.password_length_min, max_length=limits.password_length_max)
PersonName = Annotated[str, Field(min_length=1, max_length=limits.person_name_length_max)]
Mobile = Annotated[
    str,
    Field(max_length=limits.phone_length_max, examples=["+15005550006"]),
]
Description = Annotated[str, Field(max_length=limits.free_text_length_max)]

Scope = str_enum("Scope", ALL_SCOPES, "A permission: `domain:read`, `domain:write`, …")
ScopeName = Annotated[str, EnumString(Scope, message="{value!r} is not a known scope")]
Scopes = Annotated[list[ScopeName], Field(max_length=limits.client_scopes_max)]


class SignupIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "founder@example.com",
                    "password": "correct horse battery staple",
                    "organization_name": "Acme Payments",
                    "name": "Priya Sharma",
                }
            ]
        }
    )

    email: Email
    password: str = NewPassword
    organization_name: str = Field(min_length=1, max_length=limits.person_name_length_max)
    name: str | None = Field(default=None, max_length=limits.person_name_length_max)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


class RefreshIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": "rt_4f9c2b7e1d8a4c3b9e6f0a1b2c3d4e5f"}]}
    )

    refresh_token: str = Field(min_length=1, max_length=limits.jwt_length_max)


class SigninJsonIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"username": "founder@example.com", "password": "correct horse battery staple"}
            ]
        }
    )

    username: str = Field(min_length=1, max_length=limits.email_length_max)
    password: str = Password


class OtpRequestIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "founder@example.com"}]})

    email: Email


class OtpLoginIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "founder@example.com", "otp": "482913"}]}
    )

    email: Email
    otp: str = Field(min_length=1, max_length=16)


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class ChangePasswordIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct horse battery staple",
                    "new_password": "a longer and newer passphrase",
                }
            ]
        }
    )

    current_password: str = Password
    new_password: str = NewPassword


class MeUpdateIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Priya Sharma", "mobile": "+15005550006"}]}
    )

    name: PersonName | None = None
    mobile: Mobile | None = None
    description: Description | None = None
    contact_email: Email | None = None


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


class IntrospectionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool


class OAuthErrorOut(BaseModel):
    """An OAuth 2.0 error (RFC 6749 §5.2), as the token endpoints answer them."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_token_type",
    ]
    error_description: str | None = None
