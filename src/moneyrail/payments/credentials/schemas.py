"""Request and response bodies of provider credentials ("services")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from moneyrail.connectors.base import (
    Environment,
)
from moneyrail.core import limits
from moneyrail.payments.schemas import (
    Strict,
)

CredentialValue = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.provider_credential_value_length_max)
]
CredentialName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class CredentialsIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "environment": "test",
                    "credentials": {
                        "key_id": "rzp_test_1DP5mmOlF5G5ag",
                        "key_secret": "thisisasecretkey",
                    },
                    "webhook_secrets": ["whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"],
                }
            ]
        }
    )

    environment: Environment = Environment.test
    credentials: Annotated[
        dict[CredentialName, CredentialValue],
        Field(
            min_length=1,
            max_length=limits.provider_credential_fields_max,
            # Keys are the pattern's names only (patternProperties leaves others open).
            json_schema_extra={"additionalProperties": False},
        ),
    ]
    webhook_secrets: Annotated[
        list[CredentialValue], Field(max_length=limits.webhook_secrets_max)
    ] = Field(
        default_factory=list,
        description="Every webhook secret to accept; list two while rotating.",
    )


class EnvironmentIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"environment": "live"}]})

    environment: Environment


class StoredCredentialOut(BaseModel):
    environment: Environment
    fields: dict[str, str] = Field(description="Each secret's last four characters only.")
    webhook_secrets: list[str] = Field(description="Each webhook secret's last four characters.")
    updated_at: datetime


class ServiceOut(BaseModel):
    provider: str
    environment: Environment
    connected: bool
    credentials: list[StoredCredentialOut]
    required_fields: list[str]
    supports_subscriptions: bool
    webhook_url: str


class ServicesOut(BaseModel):
    data: list[ServiceOut]
