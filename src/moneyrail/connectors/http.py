"""The HTTP plumbing shared by the payment connectors.

One call path for every provider request: a total deadline on top of httpx's per-phase
timeouts (so an answer that never comes is a `ProviderTimeout` whatever the transport),
HTTP 429/5xx turned into `ProviderUnavailable`, and bounded retries with jittered backoff
only for requests the provider makes safe to repeat (reads, and writes carrying an
idempotency key the provider honours). Timeouts are never retried here: the provider may
have acted, so the caller resolves them by fetching the status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from moneyrail.connectors.base import (
    CaptureMode,
    Credentials,
    Environment,
    PaymentStatus,
    ProviderDeclined,
    ProviderError,
    ProviderNotSupported,
    ProviderPayment,
    ProviderTimeout,
    ProviderUnavailable,
    http_client,
    send,
)
from moneyrail.connectors.values import captured_on_payment
from moneyrail.core import limits
from moneyrail.core.money import Money
from moneyrail.core.settings import get_settings

log = structlog.get_logger(__name__)

LIVE_BASE_URLS: Mapping[str, str] = {
    "stripe": "https://api.stripe.com",
    "paypal": "https://api-m.paypal.com",
    "razorpay": "https://api.razorpay.com",
    "paystack": "https://api.paystack.co",
    "flutterwave": "https://api.flutterwave.com",
    "chapa": "https://api.chapa.co",
}


class ProviderCredentialsRejected(ProviderError):
    """The provider refused the tenant's credentials (401/403)."""

    code = "provider_credentials_rejected"
    status = 502
    title = "The payment provider rejected the credentials"


class ProviderObjectNotFound(ProviderDeclined):
    code = "provider_object_not_found"
    status = 404
    title = "The payment provider has no such object"


def sandbox_base_url(provider: str) -> str:
    """Where test-mode credentials go by default: the in-process sandbox of `provider`."""
    return f"{get_settings().public_base_url.rstrip('/')}/sandbox/{provider}"


def resolve_base_url(provider: str, credentials: Credentials, base_url: str | None) -> str:
    """An explicit base URL wins; otherwise test mode uses the sandbox and live mode the
    provider's real host, so test credentials never reach a real provider by default."""
    if base_url:
        return base_url.rstrip("/")
    if credentials.environment is Environment.test:
        return sandbox_base_url(provider)
    return LIVE_BASE_URLS[provider]


def require_value(credentials: Credentials, name: str) -> str:
    value = credentials.values.get(name)
    if not value:
        raise ProviderCredentialsRejected(
            f"{credentials.provider} credentials lack {name!r}", extra={"field": name}
        )
    return value


def bearer_headers(secret_key: str) -> dict[str, str]:
    """`Authorization: Bearer` with the secret key, asking for JSON."""
    return {"Authorization": f"Bearer {secret_key}", "Accept": "application/json"}


def webhook_secrets_or_hash(credentials: Credentials) -> tuple[str, ...]:
    """The webhook secrets kept with the credentials, else the dashboard's `secret_hash`."""
    secret_hash = credentials.values.get("secret_hash")
    return credentials.webhook_secrets or ((secret_hash,) if secret_hash else ())


def retrying() -> AsyncRetrying:
    """The retry policy for provider calls that are safe to repeat: bounded attempts with
    jittered exponential backoff, only after `ProviderUnavailable`."""
    return AsyncRetrying(
        stop=stop_after_attempt(limits.provider_retries_max),
        wait=wait_random_exponential(
            multiplier=limits.provider_retry_wait_initial_seconds,
            max=limits.provider_retry_wait_max_seconds,
        ),
        retry=retry_if_exception_type(ProviderUnavailable),
        reraise=True,
    )


class ProviderHttp:
    """An httpx client bound to one provider, with the call path described above."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout_seconds: float = limits.provider_timeout_seconds,
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.timeout_seconds = timeout_seconds
        self.client = http_client(
            base_url=base_url,
            transport=transport,
            headers=headers,
            auth=auth,
            timeout_seconds=timeout_seconds,
        )

    async def request(
        self, method: str, path: str, *, retry: bool, **kwargs: Any
    ) -> httpx.Response:
        """Send one request; `retry=True` only when repeating it cannot act twice."""
        request = self.client.build_request(method, path, **kwargs)
        if not retry:
            return await self._once(request)
        async for attempt in retrying():
            with attempt:
                return await self._once(request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _once(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(
                self.timeout_seconds + limits.provider_deadline_margin_seconds
            ):
                response = await send(self.client, request)
        except TimeoutError as exc:
            raise ProviderTimeout("no answer within the deadline; the outcome is unknown") from exc
        if response.status_code == 429 or response.status_code >= 500:
            log.info(
                "connector.provider_unavailable",
                provider=self.provider,
                status=response.status_code,
                path=request.url.path,
            )
            raise ProviderUnavailable(
                f"{self.provider} answered HTTP {response.status_code}",
                extra={"provider_status": response.status_code},
            )
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


def provider_http(
    provider: str,
    credentials: Credentials,
    *,
    base_url: str | None,
    transport: httpx.AsyncBaseTransport | None,
    timeout_seconds: float,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> ProviderHttp:
    """The `ProviderHttp` a connector's constructor builds: the base URL resolved from the
    credentials' environment unless one is given."""
    return ProviderHttp(
        provider=provider,
        base_url=resolve_base_url(provider, credentials, base_url),
        transport=transport,
        headers=headers,
        auth=auth,
        timeout_seconds=timeout_seconds,
    )


def json_body(
    response: httpx.Response, loads: Callable[[bytes], Any] = json.loads
) -> dict[str, Any]:
    """The response's JSON object; a provider answering something else is a provider error."""
    try:
        data = loads(response.content)
    except ValueError as exc:
        raise ProviderError(f"unreadable answer (HTTP {response.status_code})") from exc
    if not isinstance(data, dict):
        raise ProviderError(f"unexpected answer (HTTP {response.status_code})")
    return data


def raise_for_client_error(
    response: httpx.Response, *, message: str | None, provider_code: str | None
) -> None:
    """Map a 4xx answer onto our errors; `message` and `provider_code` come from the
    provider's own error shape (never the request, so no secret is echoed)."""
    status = response.status_code
    if status < 400:
        return
    extra = {"provider_status": status, "provider_code": provider_code}
    detail = message or f"HTTP {status}"
    if status in (401, 403):
        raise ProviderCredentialsRejected(detail, extra=extra)
    if status == 404:
        raise ProviderObjectNotFound(detail, extra=extra)
    raise ProviderDeclined(detail, extra=extra)


HttpOptions = tuple[Mapping[str, str] | None, httpx.Auth | tuple[str, str] | None]


class HttpConnector:
    """The constructor and `aclose` every payment connector shares: the credentials kept
    as `credentials`, and `http`, a `ProviderHttp` to the resolved base URL (test mode: the
    sandbox). A connector names itself in `name` and, in `_http_options`, reads the
    credential values it needs (`require_value`) and answers the headers and auth its
    provider's API takes."""

    name: ClassVar[str]

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = limits.provider_timeout_seconds,
    ) -> None:
        self.credentials = credentials
        headers, auth = self._http_options(credentials)
        self.http = provider_http(
            self.name,
            credentials,
            base_url=base_url,
            transport=transport,
            timeout_seconds=timeout_seconds,
            headers=headers,
            auth=auth,
        )

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        """Headers and auth for every request. Raises: ProviderCredentialsRejected."""
        return None, None

    async def aclose(self) -> None:
        await self.http.aclose()


class CapturedOnPayment(HttpConnector):
    """A connector whose provider captures a payment when the customer pays on its hosted
    page: there is nothing to capture, only a payment that is already `settled`."""

    settled: ClassVar[tuple[PaymentStatus, ...]] = (PaymentStatus.captured,)

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        raise NotImplementedError

    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment:
        """The payment, when the customer has paid it in full.

        Raises: ProviderNotSupported (not yet paid, or a partial capture).
        """
        payment = await self.get_payment(provider_payment_id)
        return captured_on_payment(payment, amount, provider=self.name, settled=self.settled)


class HostedCheckoutConnector(CapturedOnPayment):
    """A connector for a hosted-checkout provider (Paystack, Flutterwave, Chapa): a bearer
    secret key, a payment the customer completes on the provider's page and that is
    captured when paid, and webhook secrets kept with the credentials (else the dashboard's
    `secret_hash`)."""

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        self._secret_key = require_value(credentials, "secret_key")
        self._webhook_secrets = webhook_secrets_or_hash(credentials)
        return bearer_headers(self._secret_key), None

    def _refuse_manual_capture(self, capture: CaptureMode) -> None:
        """Raises: ProviderNotSupported when a manual capture is asked for."""
        if capture == CaptureMode.manual:
            raise ProviderNotSupported(f"{self.name} captures payments when the customer pays")
