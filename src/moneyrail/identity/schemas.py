"""Identity's public schemas: the bodies and field types other domains (the back office)
may build on. Each is defined in its sub-domain; this module is the one place outside
identity imports them from."""

from __future__ import annotations

from moneyrail.identity.clients.schemas import ClientCreatedOut, ClientOut
from moneyrail.identity.keys.schemas import (
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    Environment,
    Scopes,
)
from moneyrail.identity.users.schemas import (
    Description,
    Mobile,
    NewPassword,
    Password,
    PersonName,
    RoleChangeOut,
    UserOut,
)

__all__ = [
    "ApiKeyCreateIn",
    "ApiKeyCreatedOut",
    "ApiKeyOut",
    "ClientCreatedOut",
    "ClientOut",
    "Description",
    "Environment",
    "Mobile",
    "NewPassword",
    "Password",
    "PersonName",
    "RoleChangeOut",
    "Scopes",
    "UserOut",
]
