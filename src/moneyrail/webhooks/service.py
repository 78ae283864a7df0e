"""Tenant webhook endpoints, their secrets, deliveries and the fan-out of events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import limits
from moneyrail.core.crypto import key_ring
from moneyrail.core.errors import Conflict, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.jobs import attempts_allowed
from moneyrail.core.outbox import EVENT_ID_PREFIX, EventEnvelope
from moneyrail.core.pagination import PageParams
from moneyrail.core.settings import Settings
from moneyrail.webhooks import events, signing, urlpolicy
from moneyrail.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from moneyrail.webhooks.repository import repository

log = structlog.get_logger(__name__)


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    title = "Webhook endpoint not found"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "Webhook delivery not found"


class UnknownEventType(Unprocessable):
    code = "unknown_event_type"
    title = "Unknown event type"


class TooManyEndpoints(Unprocessable):
    code = "webhook_endpoints_limit"
    title = "Too many webhook endpoints"


class DeliveryInProgress(Conflict):
    code = "webhook_delivery_in_progress"
    title = "The delivery is still being attempted"


def secret_aad(tenant_id: str, endpoint_id: str) -> str:
    return f"webhook_endpoint:{tenant_id}:{endpoint_id}"


def encode_body(envelope: dict[str, Any]) -> str:
    """The exact bytes sent (and signed) on every attempt."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def signing_secrets(
    *,
    tenant_id: str,
    endpoint_id: str,
    secret_enc: str,
    previous_secret_enc: str | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> list[str]:
    """The current secret, plus the previous one while its overlap window lasts."""
    ring = key_ring()
    aad = secret_aad(tenant_id, endpoint_id)
    found = [ring.decrypt_text(secret_enc, aad=aad)]
    if previous_secret_enc and previous_expires_at and previous_expires_at > now:
        found.append(ring.decrypt_text(previous_secret_enc, aad=aad))
    return found


def _summary(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint (never its secrets)."""
    return {
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


class WebhookService:
    # --- endpoints --------------------------------------------------------------------------

    async def create_endpoint(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        tenant_id: str,
        url: str,
        description: str | None,
        event_types: list[str],
        enabled: bool,
        subject: AuthSubject | None = None,
    ) -> tuple[WebhookEndpoint, str]:
        """Create an endpoint; returns it and its secret (shown once).

        Raises:
            WebhookUrlRefused: the URL is not allowed.
            UnknownEventType: a filter names no catalogued type or family.
            TooManyEndpoints: the tenant has the maximum already.
        """
        await self._check_url(url, settings)
        filters = self._check_filters(event_types)
        if await repository.count_endpoints(session, tenant_id=tenant_id) >= (
            limits.webhook_endpoints_per_tenant_max
        ):
            raise TooManyEndpoints(
                f"a tenant may have {limits.webhook_endpoints_per_tenant_max} endpoints"
            )
        endpoint_id = new_id("whep")
        secret = signing.new_secret()
        now = datetime.now(UTC)
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            id=endpoint_id,
            url=url,
            description=description,
            event_types=filters,
            enabled=enabled,
            secret_enc=key_ring().encrypt_text(secret, aad=secret_aad(tenant_id, endpoint_id)),
            created_at=now,
            updated_at=now,
        )
        await repository.add(session, endpoint)
        await self._audit(
            session,
            subject,
            tenant_id,
            "webhooks.endpoint.created",
            endpoint_id,
            after=_summary(endpoint),
        )
        log.info("webhooks.endpoint_created", tenant_id=tenant_id, endpoint_id=endpoint_id)
        return endpoint, secret

    async def get_endpoint(
        self, session: AsyncSession, *, tenant_id: str, endpoint_id: str
    ) -> WebhookEndpoint:
        """Raises: WebhookNotFound."""
        endpoint = await repository.endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        if endpoint is None:
            raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    async def list_endpoints(
        self, session: AsyncSession, *, tenant_id: str, page: PageParams
    ) -> Sequence[WebhookEndpoint]:
        return await repository.endpoints(session, tenant_id=tenant_id, page=page)

    async def update_endpoint(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        tenant_id: str,
        endpoint_id: str,
        changes: dict[str, Any],
        subject: AuthSubject | None = None,
    ) -> WebhookEndpoint:
        """Raises: WebhookNotFound, WebhookUrlRefused, UnknownEventType."""
        endpoint = await self.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        before = _summary(endpoint)
        if changes.get("url") is not None:
            await self._check_url(changes["url"], settings)
            endpoint.url = changes["url"]
        if changes.get("event_types") is not None:
            endpoint.event_types = self._check_filters(changes["event_types"])
        if "description" in changes:
            endpoint.description = changes["description"]
        if changes.get("enabled") is not None:
            endpoint.enabled = changes["enabled"]
        endpoint.updated_at = datetime.now(UTC)
        await session.flush()
        await self._audit(
            session,
            subject,
            tenant_id,
            "webhooks.endpoint.updated",
            endpoint_id,
            before=before,
            after=_summary(endpoint),
        )
        return endpoint

    async def delete_endpoint(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        endpoint_id: str,
        subject: AuthSubject | None = None,
    ) -> None:
        """Soft delete: its deliveries and their logs stay. Raises: WebhookNotFound."""
        endpoint = await self.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        endpoint.deleted_at = endpoint.updated_at = datetime.now(UTC)
        endpoint.enabled = False
        await session.flush()
        await self._audit(
            session,
            subject,
            tenant_id,
            "webhooks.endpoint.deleted",
            endpoint_id,
            before=_summary(endpoint),
        )

    async def rotate_secret(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        tenant_id: str,
        endpoint_id: str,
        overlap_hours: float | None,
        subject: AuthSubject | None = None,
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret; the old one keeps signing for the overlap. Raises: WebhookNotFound."""
        endpoint = await self.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        hours = settings.webhook_secret_overlap_hours if overlap_hours is None else overlap_hours
        now = datetime.now(UTC)
        secret = signing.new_secret()
        endpoint.previous_secret_enc = endpoint.secret_enc if hours > 0 else None
        endpoint.previous_secret_expires_at = now + timedelta(hours=hours) if hours > 0 else None
        endpoint.secret_enc = key_ring().encrypt_text(
            secret, aad=secret_aad(tenant_id, endpoint_id)
        )
        endpoint.updated_at = now
        await session.flush()
        await self._audit(
            session,
            subject,
            tenant_id,
            "webhooks.endpoint.secret_rotated",
            endpoint_id,
            after={"overlap_hours": hours},
        )
        log.info("webhooks.secret_rotated", tenant_id=tenant_id, endpoint_id=endpoint_id)
        return endpoint, secret

    async def send_test(
        self, session: AsyncSession, *, settings: Settings, tenant_id: str, endpoint_id: str
    ) -> WebhookDelivery:
        """Queue a `webhook.test` delivery to this endpoint. Raises: WebhookNotFound."""
        endpoint = await self.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
        envelope = EventEnvelope(
            id=new_id(EVENT_ID_PREFIX),
            type="webhook.test",
            created_at=datetime.now(UTC),
            tenant_id=tenant_id,
            data={"endpoint_id": endpoint.id, "message": "a test event from moneyrail"},
        )
        row = self._delivery_row(settings, envelope.model_dump(mode="json"), endpoint.id)
        await repository.insert_deliveries(session, [row])
        delivery = await repository.delivery(session, tenant_id=tenant_id, delivery_id=row["id"])
        assert delivery is not None
        return delivery

    # --- deliveries -------------------------------------------------------------------------

    async def fan_out(
        self, session: AsyncSession, *, settings: Settings, envelope: dict[str, Any]
    ) -> int:
        """One delivery per subscribed endpoint; run in the transaction that completes the
        event, and idempotent, so each endpoint gets the event exactly once."""
        return await self.fan_out_many(session, settings=settings, envelopes=[envelope])

    async def fan_out_many(
        self, session: AsyncSession, *, settings: Settings, envelopes: list[dict[str, Any]]
    ) -> int:
        """`fan_out` for a batch: each tenant's endpoints read once, one insert."""
        public = [e for e in envelopes if events.is_public(e["type"])]
        subscriptions: dict[str, Sequence[tuple[str, list[str]]]] = {}
        rows = []
        for envelope in public:
            tenant_id = envelope["tenant_id"]
            if tenant_id not in subscriptions:
                subscriptions[tenant_id] = await repository.subscribed_endpoints(
                    session, tenant_id=tenant_id
                )
            rows += [
                self._delivery_row(settings, envelope, endpoint_id)
                for endpoint_id, filters in subscriptions[tenant_id]
                if events.matches(filters, envelope["type"])
            ]
        await repository.insert_deliveries(session, rows)
        return len(rows)

    async def list_deliveries(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        page: PageParams,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        status: str | None = None,
    ) -> Sequence[WebhookDelivery]:
        return await repository.deliveries(
            session,
            tenant_id=tenant_id,
            page=page,
            endpoint_id=endpoint_id,
            event_type=event_type,
            status=status,
        )

    async def get_delivery(
        self, session: AsyncSession, *, tenant_id: str, delivery_id: str
    ) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
        """Raises: DeliveryNotFound."""
        delivery = await repository.delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
        if delivery is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        attempts = await repository.attempts(session, tenant_id=tenant_id, delivery_id=delivery_id)
        return delivery, attempts

    async def retry_delivery(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        delivery_id: str,
        subject: AuthSubject | None = None,
    ) -> WebhookDelivery:
        """One more attempt now, with the same webhook-id and body.

        Raises:
            DeliveryNotFound: no such delivery.
            DeliveryInProgress: it is pending or being attempted already.
        """
        delivery = await repository.delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
        if delivery is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        if delivery.status in ("pending", "processing"):
            raise DeliveryInProgress("the delivery is already scheduled; wait for its outcome")
        await repository.requeue(session, delivery=delivery, now=datetime.now(UTC))
        await audit.record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="webhooks.delivery.retried",
            target_type="webhook_delivery",
            target_id=delivery_id,
        )
        log.info("webhooks.delivery_requeued", tenant_id=tenant_id, delivery_id=delivery_id)
        return delivery

    async def process_pending(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        include_failed: bool,
        subject: AuthSubject | None = None,
    ) -> int:
        """Make the tenant's waiting deliveries due now (the worker sends them next)."""
        count = await repository.make_due(
            session, tenant_id=tenant_id, now=datetime.now(UTC), include_failed=include_failed
        )
        await audit.record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="webhooks.deliveries.process_pending",
            target_type="webhook_delivery",
            after={"scheduled": count, "include_failed": include_failed},
        )
        return count

    # --- helpers ------------------------------------------------------------------------------

    async def _audit(
        self,
        session: AsyncSession,
        subject: AuthSubject | None,
        tenant_id: str,
        action: str,
        endpoint_id: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await audit.record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action=action,
            target_type="webhook_endpoint",
            target_id=endpoint_id,
            before=before,
            after=after,
        )

    def _delivery_row(
        self, settings: Settings, envelope: dict[str, Any], endpoint_id: str
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "tenant_id": envelope["tenant_id"],
            "id": new_id("whd"),
            "endpoint_id": endpoint_id,
            "event_id": envelope["id"],
            "event_type": envelope["type"],
            "body": encode_body(envelope),
            "status": "pending",
            "attempts": 0,
            "attempts_allowed": attempts_allowed(settings.webhook_retry_schedule_seconds),
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }

    async def _check_url(self, url: str, settings: Settings) -> None:
        await urlpolicy.check(
            url,
            require_https=settings.is_production,
            allow_private=settings.webhook_private_targets_allowed,
        )

    def _check_filters(self, event_types: list[str]) -> list[str]:
        unknown = [t for t in event_types if not events.is_valid_filter(t)]
        if unknown:
            raise UnknownEventType(
                f"unknown event types: {', '.join(unknown)}", extra={"event_types": unknown}
            )
        return sorted(set(event_types))


webhooks = WebhookService()
