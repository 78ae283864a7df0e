"""Who may use the sandboxes' test hooks, and where a sandbox may post a webhook.

The hooks under `HOOK_PREFIX` stand in for a provider's dashboard and test tools: they make a
payment succeed or fail, set faults, reset state, set webhook settings, sign events and send
them. Served on their own port (`moneyrail sandbox serve`, loopback by default) they are a
developer's tools and answer to anyone who reaches that port. Mounted in the API (`/sandbox`,
`SANDBOX_MOUNT`), `HookGuard` makes them answer only to a tenant's test-mode credential (an
`mr_test_…` key or a token of the tenant's test environment), and every webhook the sandbox
posts goes only to the tenant's registered inbound provider-webhook address on this API
(`/api/v1/webhooks/providers/<provider>?tenant=<the caller's tenant>`, or the platform's
messaging callbacks), never to an address the caller chose.

The payer's pages (hosted checkout, PayPal's approval page, 3-D Secure, Razorpay's mandate
page) are not guarded: the tenant's customer opens them in a browser, as on the provider,
with the unguessable id or token the tenant handed over; they carry no credential.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from moneyrail.core.errors import AppError
from moneyrail.core.settings import Settings, get_settings
from moneyrail.sandbox.providers import PROVIDERS

log = structlog.get_logger(__name__)

HOOK_SEGMENT = "_sandbox"
# The payer's pages, by the first path segment after the hook prefix.
PAYER_PAGES = frozenset({"checkout", "checkoutnow", "3ds"})
# Providers whose callbacks go to the platform's own endpoint (no tenant in the address).
PLATFORM_CALLBACKS = frozenset({"twilio", "resend"})
API_WEBHOOKS = "/api/v1/webhooks/"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where the current request may make the sandbox post: these origins, and when a tenant
    is known, only that tenant's inbound address."""

    origins: frozenset[str]
    tenant_id: str | None = None


# None: the sandbox runs on its own port, where deliveries are not restricted.
_policy: ContextVar[DeliveryPolicy | None] = ContextVar("sandbox_delivery_policy", default=None)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refused_target(url: str) -> str | None:
    """Why the sandbox may not post to `url` in this request, or None when it may."""
    policy = _policy.get()
    if policy is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the webhook address is not a URL"
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return "the webhook address must be an http(s) URL without credentials"
    if _origin(url) not in policy.origins:
        return "webhooks go only to this API's own inbound provider-webhook address"
    rest = parts.path.removeprefix(API_WEBHOOKS) if parts.path.startswith(API_WEBHOOKS) else ""
    provider = rest.removeprefix("providers/")
    if provider not in PROVIDERS:
        return "webhooks go only to /api/v1/webhooks/providers/<provider>"
    tenants = parse_qs(parts.query).get("tenant", [])
    foreign = policy.tenant_id is not None and tenants != [policy.tenant_id]
    if foreign and provider not in PLATFORM_CALLBACKS:
        return "webhooks go only to your own tenant's inbound address (?tenant=<your tenant>)"
    return None


def refused_webhook_setting(body: Any) -> JSONResponse | None:
    """The 403 for a dashboard settings body whose `webhook_url` `refused_target` refuses."""
    url = body.get("webhook_url") if isinstance(body, dict) else None
    if isinstance(url, str) and url and (reason := refused_target(url)) is not None:
        return JSONResponse({"status": "failed", "message": reason}, status_code=403)
    return None


def _is_guarded_hook(path: str) -> bool:
    """`/<provider>/_sandbox/<hook>…`, except the payer's pages."""
    parts = path.split("/")
    if len(parts) < 4 or parts[2] != HOOK_SEGMENT:
        return False
    if parts[3] in PAYER_PAGES:
        return False
    is_mandate_page = (
        parts[1] == "razorpay" and parts[3] == "subscriptions" and parts[-1] == ("authenticate")
    )
    return not is_mandate_page


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail},
        status_code=status,
        media_type=PROBLEM,
    )


class HookGuard:
    """Wraps the sandboxes mounted in the API: hooks need a tenant's test-mode credential and
    every request's deliveries are held to `refused_target`'s rules."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @property
    def routes(self) -> list[Any]:
        """The wrapped app's routes (for introspection, as on the Starlette app itself)."""
        return list(getattr(self.app, "routes", []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = scope.get("app")  # the API, when the request came through its mount
        settings = _settings_of(host)
        request = Request(scope)
        origins = {_origin(settings.public_base_url), _origin(str(request.base_url))}
        tenant_id: str | None = None
        path = str(scope.get("path", ""))[len(str(scope.get("root_path", ""))) :]
        if _is_guarded_hook(path):
            tenant_id, refusal = await _test_tenant(host, request)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        token = _policy.set(DeliveryPolicy(frozenset(origins), tenant_id))
        try:
            await self.app(scope, receive, send)
        finally:
            _policy.reset(token)


def _settings_of(host: Any) -> Settings:
    settings = getattr(getattr(host, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


async def _test_tenant(host: Any, request: Request) -> tuple[str | None, JSONResponse | None]:
    """The tenant whose test-mode credential the request carries, or the refusal to send."""
    if getattr(getattr(host, "state", None), "db", None) is None:
        # Not through the API (e.g. the in-process provider transport): no hook there.
        return None, _problem(404, "not_found", "Not found")
    from moneyrail.auth.deps import authenticate
    from moneyrail.core.db import get_session

    if request.headers.get("x-api-key"):
        # The hooks of Paystack, Flutterwave and Chapa take the provider account's key in
        # `Authorization`; the tenant's own key then comes as X-API-Key, and only it counts.
        headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"authorization"]
        request = Request({**request.scope, "headers": headers})
    try:
        async with contextlib.asynccontextmanager(get_session)(request) as session:
            subject = await authenticate(request, session)
    except AppError as exc:
        return None, _problem(exc.status, exc.code, exc.detail)
    if not subject.is_test or not subject.tenant_id:
        log.info("sandbox.hook_refused", reason="not_test_mode", tenant_id=subject.tenant_id)
        return None, _problem(
            403, "test_mode_required", "sandbox test hooks need a tenant's test-mode credential"
        )
    return subject.tenant_id, None
