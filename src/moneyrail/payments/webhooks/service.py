"""Inbound payment-provider webhooks: verify, dedupe, re-fetch, apply.

The URL names the tenant (`/api/v1/webhooks/providers/<provider>?tenant=<tenant id>`, the
address `GET /api/v1/services` shows). The raw body is verified with that tenant's webhook
secrets for the provider — all of them, so both secrets verify during a rotation — and an
event that fails is refused with 401 before anything is read from it.

Then, in one transaction: the provider's event id is inserted into
`payment_inbound_events` (a redelivery conflicts and is answered without effect), the
object the event names is fetched again from the provider (an event's own amounts and
statuses are never trusted with money), and the result is applied through the forward-only
state machine. Duplicates, reordered events and concurrent deliveries therefore converge
on the provider's current state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors import registry
from moneyrail.connectors.base import (
    Credentials,
    Environment,
    InvalidWebhookSignature,
    PaymentStatus,
    ProviderDeclined,
    ProviderError,
    WebhookEvent,
)
from moneyrail.core.db import set_tenant
from moneyrail.core.ids import has_prefix
from moneyrail.payments.credentials.service import credentials as credential_store
from moneyrail.payments.intents import provider_state
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.models import Payment
from moneyrail.payments.providers import ProviderRuntime, call, connector_for
from moneyrail.payments.refunds.service import refunds as refund_service
from moneyrail.payments.subscriptions.service import subscriptions as subscription_service
from moneyrail.payments.webhooks.repository import repository

log = structlog.get_logger(__name__)

_OUR_PAYMENT_ID = re.compile(r"\bpay_[0-9A-HJKMNP-TV-Z]{26}\b")


@dataclass(frozen=True)
class InboundResult:
    event_id: str
    event_type: str
    duplicate: bool
    applied_to: str | None = None


async def _verify(
    runtime: ProviderRuntime,
    provider: str,
    candidates: tuple[Credentials, ...],
    *,
    headers: Mapping[str, str],
    body: bytes,
    url: str,
) -> tuple[WebhookEvent, Environment]:
    """The event, verified with the first credential set whose secrets sign it. Schemes
    that need a provider's certificate (PayPal) fetch it from that environment's host."""
    for creds in candidates:
        connector = connector_for(runtime, provider, creds)
        try:
            event = await call(
                runtime,
                registry.verify_webhook(
                    connector, headers=headers, body=body, secrets=creds.webhook_secrets, url=url
                ),
            )
        except (InvalidWebhookSignature, ProviderError):
            continue
        finally:
            await connector.aclose()
        return event, creds.environment
    raise InvalidWebhookSignature(f"the {provider} webhook signature does not verify")


def _renewal(provider: str, event: WebhookEvent) -> tuple[str, str] | None:
    """(provider subscription id, provider payment id) when the event is a renewal charge."""
    payload: Mapping[str, Any] = event.payload
    if provider == "stripe" and event.event_type in ("invoice.paid", "invoice.payment_succeeded"):
        invoice = (payload.get("data") or {}).get("object") or {}
        sub_id, intent = invoice.get("subscription"), invoice.get("payment_intent")
        if isinstance(sub_id, str) and isinstance(intent, str):
            return sub_id, intent
    if provider == "razorpay" and event.event_type == "subscription.charged":
        body = payload.get("payload") or {}
        sub = ((body.get("subscription") or {}).get("entity") or {}).get("id")
        pay = (body.get("payment") or {}).get("entity") or {}
        paid = pay.get("order_id") or pay.get("id")
        if isinstance(sub, str) and isinstance(paid, str):
            return sub, paid
    return None


def _our_payment_ids(payload: Mapping[str, Any]) -> Iterator[str]:
    for match in _OUR_PAYMENT_ID.finditer(json.dumps(payload, default=str)):
        if has_prefix(match.group(0), "pay"):
            yield match.group(0)


class InboundWebhookService:
    async def receive(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        provider: str,
        tenant_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        url: str,
    ) -> InboundResult:
        """Verify and apply one provider event for one tenant.

        Raises:
            InvalidWebhookSignature: no tenant, or no secret of the tenant signs the body.
            ProviderUnavailable / ProviderTimeout: the re-fetch failed; nothing is recorded,
                so the provider's redelivery applies it later.
        """
        if not tenant_id or not has_prefix(tenant_id, "ten"):
            raise InvalidWebhookSignature("the webhook URL does not name a tenant")
        await set_tenant(session, tenant_id)
        candidates = await credential_store.webhook_secrets(
            session,
            ring=runtime.ring,
            sandbox_seed=runtime.sandbox_seed,
            tenant_id=tenant_id,
            provider=provider,
        )
        event, environment = await _verify(
            runtime, provider, candidates, headers=headers, body=body, url=url
        )
        log_context = {"provider": provider, "event_id": event.event_id, "type": event.event_type}
        if not await repository.has_provider_footprint(
            session, tenant_id=tenant_id, provider=provider
        ):
            log.info("payments.webhook_ignored", reason="no payments with provider", **log_context)
            return InboundResult(event.event_id, event.event_type, duplicate=False)
        first = await repository.record_event(
            session,
            tenant_id=tenant_id,
            provider=provider,
            event_id=event.event_id,
            event_type=event.event_type,
            object_type=event.object_type,
            object_id=event.object_id,
            outcome="received",
        )
        if not first:
            log.info("payments.webhook_duplicate", **log_context)
            return InboundResult(event.event_id, event.event_type, duplicate=True)
        try:
            applied = await self._apply(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=provider,
                event=event,
                environment=environment,
            )
        except ProviderDeclined as exc:
            # The provider does not know the object it told us about (another environment,
            # or deleted): a redelivery cannot change that, so the event is acknowledged.
            log.warning("payments.webhook_object_unknown", error=exc.code, **log_context)
            applied = None
        log.info("payments.webhook_applied", applied_to=applied, **log_context)
        return InboundResult(event.event_id, event.event_type, duplicate=False, applied_to=applied)

    async def _apply(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        tenant_id: str,
        provider: str,
        event: WebhookEvent,
        environment: Environment,
    ) -> str | None:
        renewal = _renewal(provider, event)
        if renewal is not None:
            renewed = await subscription_service.record_renewal(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=provider,
                provider_subscription_id=renewal[0],
                provider_payment_id=renewal[1],
            )
            if renewed is not None:
                return renewed.id
        if event.object_id is None:
            return None
        if event.object_type == "payment":
            payment = await self._payment_for(
                session, tenant_id=tenant_id, provider=provider, event=event
            )
            if payment is None:
                return None
            await provider_state.sync(
                session, payment=payment, subject=None, runtime=runtime, reason=event.event_type
            )
            return payment.id
        if event.object_type == "refund":
            refund = await refund_service.sync(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=provider,
                provider_refund_id=event.object_id,
                environment=environment,
            )
            return refund.id if refund is not None else None
        if event.object_type == "subscription":
            sub = await subscription_service.sync(
                session,
                runtime=runtime,
                tenant_id=tenant_id,
                provider=provider,
                provider_subscription_id=event.object_id,
            )
            return sub.id if sub is not None else None
        return None

    async def _payment_for(
        self, session: AsyncSession, *, tenant_id: str, provider: str, event: WebhookEvent
    ) -> Payment | None:
        """Our payment for the event: by the provider's id, or — for a payment whose create
        went unanswered, so the provider id is not known yet — by our reference in the event."""
        assert event.object_id is not None
        payment = await payment_service.by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_payment_id=event.object_id,
            lock=True,
        )
        if payment is not None:
            return payment
        for payment_id in _our_payment_ids(event.payload):
            candidate = await payment_service.find(
                session, tenant_id=tenant_id, payment_id=payment_id, lock=True
            )
            if (
                candidate is not None
                and candidate.provider == provider
                and candidate.provider_payment_id is None
                and candidate.status == PaymentStatus.processing.value
            ):
                return candidate
        return None


inbound = InboundWebhookService()
