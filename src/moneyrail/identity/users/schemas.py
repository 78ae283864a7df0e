"""Users' bodies and the field types every identity body shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from moneyrail.auth.roles import Role
from moneyrail.core import limits
from moneyrail.identity.keys.schemas import ApiKeyOut

Password = Field(min_length=1, max_length=limits.password_length_max)
# A password being set: the policy's length bounds (check_password_policy adds the rest).
NewPassword = Field(min_length=limits.password_length_min, max_length=limits.password_length_max)
PersonName = Annotated[str, Field(min_length=1, max_length=limits.person_name_length_max)]
Mobile = Annotated[
    str,
    Field(max_length=limits.phone_length_max, examples=["+15005550006"]),
]
Description = Annotated[str, Field(max_length=limits.free_text_length_max)]


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


class RoleChangeOut(UserOut):
    api_keys_for_review: list[ApiKeyOut] = Field(
        default_factory=list,
        description="On a demotion: the unrevoked API keys the user minted (already revoked "
        "when `revoke_api_keys` was set), for review.",
    )
