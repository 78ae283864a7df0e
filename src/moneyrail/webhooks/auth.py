"""Tenant webhooks' permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.roles import Role, role_at_least
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.errors import Forbidden

WebhooksRead = Annotated[AuthSubject, Depends(require(scope="webhooks:read"))]
WebhooksWrite = Annotated[AuthSubject, Depends(require(scope="webhooks:write"))]


async def _admin(subject: WebhooksWrite) -> AuthSubject:
    """The `webhooks:write` subject, when it also holds the admin role.

    Raises:
        Forbidden: an operator (or any role below admin).
    """
    if not role_at_least(subject.role, Role.admin):
        raise Forbidden("this action needs the admin role or higher")
    return subject


# Rotating an endpoint's signing secret or deleting the endpoint changes who can trust (or
# receive) the tenant's events: administrators only, like the tenant's other credentials.
WebhooksAdmin = Annotated[AuthSubject, Depends(_admin)]
