"""Sign-up, sign-in, refresh, one-time codes and the current subject."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.auth.roles import Role
from moneyrail.core import limits
from moneyrail.core.types import Email
from moneyrail.identity.keys.schemas import Environment
from moneyrail.identity.users.schemas import Description, Mobile, NewPassword, Password, PersonName


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
