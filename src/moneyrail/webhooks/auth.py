"""Tenant webhooks' permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.roles import Role
from moneyrail.auth.subject import AuthSubject

WebhooksRead = Annotated[AuthSubject, Depends(require(scope="webhooks:read"))]
WebhooksWrite = Annotated[AuthSubject, Depends(require(scope="webhooks:write"))]
# Rotating an endpoint's signing secret or deleting the endpoint changes who can trust (or
# receive) the tenant's events: administrators only, like the tenant's other credentials.
WebhooksAdmin = Annotated[AuthSubject, Depends(require(scope="webhooks:write", role=Role.admin))]
