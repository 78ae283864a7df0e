"""Roles, scopes and what each role may do. Deny by default: a scope not listed is refused."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"
    owner = "owner"


ROLE_RANK: dict[Role, int] = {Role.viewer: 0, Role.operator: 1, Role.admin: 2, Role.owner: 3}

# Domains whose data every role may read and whose day-to-day writes operators make.
OPERATIONAL_DOMAINS = (
    "ledger",
    "banking",
    "payments",
    "bills",
    "trading",
    "messaging",
    "webhooks",
    "credits",
    "analytics",
)
# Writes reserved for administrators (approvals, status changes, credentials, keys, users).
ADMIN_SCOPES = (
    "admin:read",
    "admin:write",
    "banking:approve",
    "banking:admin",
    "ledger:admin",
    "services:read",
    "services:write",
    "api_keys:read",
    "api_keys:write",
    "audit:read",
    "monitoring:read",
)


def _scopes_for(role: Role) -> frozenset[str]:
    scopes = {f"{domain}:read" for domain in OPERATIONAL_DOMAINS}
    scopes.add("profile:read")
    scopes.add("profile:write")
    if ROLE_RANK[role] >= ROLE_RANK[Role.operator]:
        scopes.update(f"{domain}:write" for domain in OPERATIONAL_DOMAINS)
    if ROLE_RANK[role] >= ROLE_RANK[Role.admin]:
        scopes.update(ADMIN_SCOPES)
    if role is Role.owner:
        scopes.add("tenant:owner")
    return frozenset(scopes)


ROLE_SCOPES: dict[Role, frozenset[str]] = {role: _scopes_for(role) for role in Role}
ALL_SCOPES: frozenset[str] = ROLE_SCOPES[Role.owner]


def role_at_least(role: Role, minimum: Role) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[minimum]
