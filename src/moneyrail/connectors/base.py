"""What every payment connector offers, in provider-neutral terms.

A connector speaks one provider's real wire format over httpx. Tests and test-mode tenants
point it at our sandbox (`base_url`, or an in-process `transport`); live mode at the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx

from moneyrail.core import limits
from moneyrail.core.errors import AppError, Unauthorized
from moneyrail.core.money import Money


class Environment(StrEnum):
    test = "test"
    live = "live"


class PaymentStatus(StrEnum):
    """moneyrail's payment states; connectors map provider statuses onto these."""

    created = "created"
    requires_action = "requires_action"
    processing = "processing"
    authorized = "authorized"
    captured = "captured"
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    failed = "failed"
    cancelled = "cancelled"


class RefundStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class CaptureMode(StrEnum):
    automatic = "automatic"
    manual = "manual"


# --- errors -------------------------------------------------------------------------------


class ProviderError(AppError):
    """The provider answered with an error we cannot attribute to the request."""

    code = "provider_error"
    status = 502
    title = "Payment provider error"


class ProviderUnavailable(ProviderError):
    """Connection refused/reset or a 5xx before the provider accepted the request: nothing was
    created there, so routing may safely try the next provider."""

    code = "provider_unavailable"
    status = 503
    title = "Payment provider unavailable"


class ProviderTimeout(ProviderError):
    """The request was sent but no answer came: the provider may have acted. Never retry
    blindly; resolve by fetching the status."""

    code = "provider_timeout"
    status = 504
    title = "Payment provider timed out"


class ProviderDeclined(AppError):
    """The provider refused the request for a reason the caller can act on (4xx)."""

    code = "provider_declined"
    status = 422
    title = "Declined by the payment provider"


class ProviderNotSupported(AppError):
    code = "provider_operation_not_supported"
    status = 422
    title = "Operation not supported by this provider"


class InvalidWebhookSignature(Unauthorized):
    code = "invalid_webhook_signature"
    title = "Webhook signature is not valid"


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    email: str | None = None
    phone: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CreatePayment:
    reference: str  # our payment id (pay_…), sent as the provider's receipt/reference
    amount: Money
    idempotency_key: str
    capture: CaptureMode = CaptureMode.automatic
    description: str | None = None
    customer: Customer = field(default_factory=Customer)
    return_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The provider's payment-method token when the server confirms the payment itself
    # (Stripe `pm_…`); without it the customer completes the payment (next_action_url).
    payment_method: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    provider: str
    provider_payment_id: str
    status: PaymentStatus
    amount: Money
    captured_amount: int = 0  # minor units
    refunded_amount: int = 0
    fee: int | None = None  # minor units, when the provider reports it
    next_action_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    provider: str
    provider_refund_id: str
    provider_payment_id: str
    status: RefundStatus
    amount: Money
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound event. `object_id` is the provider's payment/refund/subscription id."""

    provider: str
    event_id: str
    event_type: str
    object_type: str  # "payment" | "refund" | "subscription" | "message" | other
    object_id: str | None
    occurred_at: datetime | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Credentials:
    """A tenant's decrypted credentials for one provider. `values` holds the provider's own
    names (`secret_key`, `key_id`, `key_secret`, `client_id`, `client_secret`, …);
    `webhook_secrets` may hold several during a rotation."""

    provider: str
    environment: Environment
    values: Mapping[str, str]
    webhook_secrets: tuple[str, ...] = ()


class PaymentConnector(Protocol):
    name: str

    async def create_payment(self, request: CreatePayment) -> ProviderPayment: ...
    async def get_payment(self, provider_payment_id: str) -> ProviderPayment: ...
    async def find_payment(
        self, *, reference: str, idempotency_key: str
    ) -> ProviderPayment | None: ...
    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment: ...
    async def cancel(
        self, provider_payment_id: str, *, idempotency_key: str
    ) -> ProviderPayment: ...
    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund: ...
    async def get_refund(self, provider_refund_id: str) -> ProviderRefund: ...
    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent: ...
    async def aclose(self) -> None: ...


def http_client(
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout_seconds: float = limits.provider_timeout_seconds,
) -> httpx.AsyncClient:
    """The httpx client every connector uses: bounded timeouts, no redirects followed."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        headers=dict(headers or {}),
        auth=auth,
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        follow_redirects=False,
    )


async def send(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send one request, turning transport failures into the routing-relevant errors:
    a connect failure means nothing reached the provider; a read timeout means it may have."""
    try:
        response = await client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderUnavailable(f"could not connect: {type(exc).__name__}") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        raise ProviderTimeout("no answer within the timeout; the outcome is unknown") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ProviderTimeout(f"connection lost after sending: {type(exc).__name__}") from exc
    return response


# --- subscriptions (providers that have them: Stripe, PayPal, Razorpay) ---------------------


class SubscriptionStatus(StrEnum):
    """moneyrail's subscription states; connectors map provider statuses onto these."""

    requires_action = "requires_action"  # the customer must approve or authenticate first
    active = "active"
    past_due = "past_due"
    paused = "paused"
    cancelled = "cancelled"
    completed = "completed"


class PlanInterval(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


@dataclass(frozen=True)
class CreatePlan:
    """A recurring price at the provider (Stripe price, PayPal billing plan, Razorpay plan)."""

    name: str
    amount: Money
    interval: PlanInterval
    idempotency_key: str
    interval_count: int = 1


@dataclass(frozen=True)
class CreateSubscription:
    reference: str  # our subscription id
    plan_id: str  # the provider's plan/price id
    idempotency_key: str
    customer: Customer = field(default_factory=Customer)
    quantity: int = 1
    total_count: int | None = None  # billing cycles; None means until cancelled
    payment_method: str | None = None
    return_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSubscription:
    provider: str
    provider_subscription_id: str
    status: SubscriptionStatus
    plan_id: str
    quantity: int = 1
    next_action_url: str | None = None
    current_period_end: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
