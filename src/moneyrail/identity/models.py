"""Identity's tables, gathered for Alembic and for tests; each is defined in its sub-domain."""

from __future__ import annotations

from moneyrail.identity.clients.models import OAuthClient
from moneyrail.identity.keys.models import ApiKey
from moneyrail.identity.sessions.models import LoginFailure, OtpCode, RefreshToken
from moneyrail.identity.tenants.models import Tenant
from moneyrail.identity.users.models import User

__all__ = ["ApiKey", "LoginFailure", "OAuthClient", "OtpCode", "RefreshToken", "Tenant", "User"]
