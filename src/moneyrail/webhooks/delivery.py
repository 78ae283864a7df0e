"""Webhook delivery attempts: claim due deliveries, POST them signed, record each outcome.

`DeliveryPump` is the webhooks domain's pump (registered in `webhooks/tasks.py`): the
worker runs its claim → process loop and releases what it holds when stopped.

The HTTP call happens outside any transaction. A delivery's lease is longer than the HTTP
timeout, so while a worker lives no other worker can start the same delivery; when it dies,
the lease runs out and the delivery is attempted again with the same webhook-id.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter, Histogram

from moneyrail.core import limits
from moneyrail.core.db import Database, bypass_tenant_scope
from moneyrail.core.jobs import delay_before_retry
from moneyrail.core.metrics import registry
from moneyrail.core.settings import Settings
from moneyrail.webhooks import signing, urlpolicy
from moneyrail.webhooks.repository import ClaimedDelivery, repository
from moneyrail.webhooks.service import signing_secrets

log = structlog.get_logger(__name__)

webhook_attempts = Counter(
    "moneyrail_webhook_attempts",
    "Webhook delivery attempts, by outcome (delivered, retry, failed).",
    ["outcome"],
    registry=registry,
)
webhook_attempt_duration = Histogram(
    "moneyrail_webhook_attempt_duration_seconds",
    "Time from sending a webhook to its answer (or error).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=registry,
)


def attempt_timeout_seconds(settings: Settings) -> float:
    return max(0.1, min(settings.webhook_timeout_seconds, limits.webhook_timeout_seconds_max))


def lease_seconds(settings: Settings) -> float:
    """Longer than one attempt can take (each is cut off at its timeout and a batch holds no
    more deliveries than run at once), so a live worker never loses its lease mid-attempt."""
    return max(
        settings.worker_lease_seconds,
        attempt_timeout_seconds(settings) + limits.worker_lease_margin_seconds,
        limits.worker_lease_seconds_min,
    )


class DeliveryPump:
    def __init__(self, *, settings: Settings, db: Database, worker_id: str) -> None:
        self.settings = settings
        self.db = db
        self.worker_id = worker_id
        timeout = attempt_timeout_seconds(settings)
        concurrency = max(1, min(settings.worker_concurrency, limits.worker_concurrency_max))
        self.concurrency = concurrency
        self.timeout = timeout
        # Several lanes keep HTTP requests in flight while another lane waits on the
        # database; together they never exceed the concurrency.
        self.lanes = max(1, min(limits.worker_delivery_lanes_max, concurrency // 8))
        self.batch_size = max(1, concurrency // self.lanes)
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency),
        )
        self.semaphore = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            return await repository.claim(
                session,
                limit=min(limit, self.concurrency),
                lease_seconds=lease_seconds(self.settings),
                worker_id=self.worker_id,
            )

    async def process(self, claimed: list[ClaimedDelivery]) -> None:
        outcomes = await asyncio.gather(*(self._guarded(c) for c in claimed))
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            recorded = await repository.finish(session, list(outcomes))
        if recorded != len(outcomes):
            log.warning(
                "worker.delivery_lease_lost",
                expected=len(outcomes),
                recorded=recorded,
                worker_id=self.worker_id,
            )

    async def release(self, claimed: list[ClaimedDelivery]) -> None:
        async with self.db.sessionmaker() as session, session.begin():
            await bypass_tenant_scope(session)
            await repository.release(session, claimed)

    async def _guarded(self, claimed: ClaimedDelivery) -> dict[str, Any]:
        async with self.semaphore:
            return await self.attempt(claimed)

    async def attempt(self, c: ClaimedDelivery) -> dict[str, Any]:
        started = time.perf_counter()
        status_code: int | None = None
        response_body: str | None = None
        error: str | None = None
        if c.url is None or not c.enabled:
            error = "endpoint disabled or deleted"
        else:
            try:
                target = await urlpolicy.target(
                    c.url,
                    require_https=self.settings.is_production,
                    allow_private=self.settings.webhook_private_targets_allowed,
                )
                async with asyncio.timeout(self.timeout):
                    status_code, response_body = await self._post(c, target)
                if target.internal:
                    # An internal host's answer is not shown to the tenant: only its status.
                    response_body = None
            except urlpolicy.WebhookUrlRefused as exc:
                error = f"refused: {exc.detail}"
            except (httpx.TimeoutException, TimeoutError):
                error = "timeout"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[: limits.webhook_attempt_error_chars_max]
            except Exception as exc:  # e.g. a secret that no longer decrypts: a failed attempt
                log.exception("webhooks.attempt_error", delivery_id=c.id)
                error = f"internal error: {type(exc).__name__}"
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        now = datetime.now(UTC)
        delivered = status_code is not None and 200 <= status_code < 300
        if status_code is not None and not delivered and error is None:
            error = f"HTTP {status_code}"
        if delivered:
            status, next_at = "delivered", None
        elif c.url is None or not c.enabled or c.attempt >= c.attempts_allowed:
            status, next_at = "failed", None
        else:
            delay = delay_before_retry(
                self.settings.webhook_retry_schedule_seconds,
                retry=c.attempt,
                jitter_ratio=self.settings.webhook_retry_jitter_ratio,
            )
            status, next_at = "pending", now + timedelta(seconds=delay)
        webhook_attempts.labels("retry" if status == "pending" else status).inc()
        webhook_attempt_duration.observe(latency_ms / 1000)
        log.info(
            "webhooks.attempt",
            delivery_id=c.id,
            tenant_id=c.tenant_id,
            attempt=c.attempt,
            status_code=status_code,
            latency_ms=latency_ms,
            outcome=status,
        )
        return {
            "tenant_id": c.tenant_id,
            "id": c.id,
            "attempt": c.attempt,
            "lease": c.lease,
            "finished_at": now,
            "status_code": status_code,
            "latency_ms": latency_ms,
            "response_body": response_body,
            "error": error,
            "status": status,
            "next_attempt_at": next_at,
            "delivered_at": now if delivered else None,
        }

    async def _post(self, c: ClaimedDelivery, target: urlpolicy.Target) -> tuple[int, str]:
        assert c.url is not None and c.secret_enc is not None
        now = datetime.now(UTC)
        secrets_ = signing_secrets(
            tenant_id=c.tenant_id,
            endpoint_id=c.endpoint_id,
            secret_enc=c.secret_enc,
            previous_secret_enc=c.previous_secret_enc,
            previous_expires_at=c.previous_secret_expires_at,
            now=now,
        )
        headers = signing.headers(
            secrets_=secrets_, message_id=c.event_id, timestamp=now, body=c.body
        )
        headers["Host"] = target.host_header
        async with self.client.stream(
            "POST",
            target.pinned_url,
            content=c.body.encode(),
            headers=headers,
            extensions={"sni_hostname": target.host},
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) >= limits.webhook_response_body_bytes_max:
                    break
            text = bytes(body[: limits.webhook_response_body_bytes_max]).decode(
                "utf-8", errors="replace"
            )
            return response.status_code, text
