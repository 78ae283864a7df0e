"""Who is calling: the authenticated subject every endpoint receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from moneyrail.auth.roles import Role

ActorType = Literal["user", "api_key", "client"]


@dataclass(frozen=True)
class AuthSubject:
    tenant_id: str
    actor_type: ActorType
    actor_id: str
    role: Role
    scopes: frozenset[str]
    environment: Literal["test", "live"] = "test"
    is_platform_admin: bool = False
    # The API key or token id that authenticated the request (for audit and rate limits).
    credential_id: str | None = None
    client_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
