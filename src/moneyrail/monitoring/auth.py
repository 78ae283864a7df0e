"""Monitoring's permissions.

Metrics, host statistics and the detailed health check describe the whole installation (every
tenant's traffic, the host's memory and disks, the cache), so they are for the platform's
operators, never for a tenant. Metrics and the detailed health check are read by scrapers
and probes that hold no user credential: they answer to `Authorization: Bearer
<METRICS_TOKEN>`, compared in constant time; with no `METRICS_TOKEN` they are open outside
production (a development server on loopback) and answer 404 in production, so nothing on
the API's port exposes them by default. Host and cache statistics need a platform
administrator (`moneyrail create-admin`); a tenant's administrator gets 403 (no statistic
there is the tenant's own). Health, liveness and readiness stay public.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from moneyrail.auth.deps import authenticate
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.errors import Forbidden, NotFound, Unauthorized
from moneyrail.core.settings import Settings


class OperatorTokenRequired(Unauthorized):
    code = "operator_token_required"


def _presented_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def operator_access(request: Request) -> None:
    """Let the platform's operators (and their scrapers) through.

    Raises:
        NotFound: production with no `METRICS_TOKEN` configured.
        OperatorTokenRequired: a token is configured and the request does not carry it.
    """
    settings: Settings = request.app.state.settings
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not expected:
        if settings.is_production:
            raise NotFound("not found")
        return
    presented = _presented_token(request) or ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise OperatorTokenRequired("send the operator token: Authorization: Bearer <token>")


OperatorAccess = Annotated[None, Depends(operator_access)]


async def platform_admin(
    subject: Annotated[AuthSubject, Depends(authenticate)],
) -> AuthSubject:
    """The caller, when it is a platform administrator.

    Raises:
        Forbidden: any other subject, a tenant's owner or administrator included.
    """
    if not subject.is_platform_admin:
        raise Forbidden("installation statistics are for platform administrators")
    return subject


PlatformAdmin = Annotated[AuthSubject, Depends(platform_admin)]
