"""Subscriptions on the providers that have them (Stripe, PayPal, Razorpay).

A subscription takes an existing provider plan (`plan_id`) or a plan created with it
(`plan`). Its status follows the provider (active, paused, past_due, …); cancelled and
completed are final. Each renewal charge arrives as a provider event and is recorded as a
payment with `subscription_id` set (`record_renewal`), posted to the ledger like any capture.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import (
    CaptureMode,
    CreatePlan,
    CreateSubscription,
    Customer,
    Environment,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderSubscription,
    SubscriptionStatus,
)
from moneyrail.connectors.http import ProviderCredentialsRejected
from moneyrail.core.errors import Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.payments import transitions
from moneyrail.payments.intents.service import payment as payment_service
from moneyrail.payments.models import Payment, Subscription
from moneyrail.payments.providers import (
    ProviderRuntime,
    call,
    enabled_providers,
    open_connector,
    provider_key,
)
from moneyrail.payments.recorder import Recorder
from moneyrail.payments.routing import rules as routing
from moneyrail.payments.subscriptions import changes
from moneyrail.payments.subscriptions.changes import (
    SubscriptionFinished as SubscriptionFinished,
)
from moneyrail.payments.subscriptions.changes import (
    SubscriptionNotFound as SubscriptionNotFound,
)
from moneyrail.payments.subscriptions.repository import repository
from moneyrail.payments.subscriptions.schemas import CreateSubscriptionIn

log = structlog.get_logger(__name__)

FINAL = frozenset({SubscriptionStatus.cancelled, SubscriptionStatus.completed})
_PAST = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}


class NoSubscriptionProvider(Unprocessable):
    code = "no_subscription_provider"
    title = "No provider that supports subscriptions is available"


def summary(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "status": sub.status,
        "provider": sub.provider,
        "provider_subscription_id": sub.provider_subscription_id,
        "plan_id": sub.plan_id,
        "quantity": sub.quantity,
    }


def _operation(connector: Any, name: str) -> Any:
    method = getattr(connector, name, None)
    if method is None:
        raise ProviderNotSupported(f"{connector.name} has no subscriptions")
    return method


class SubscriptionService:
    async def create(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        body: CreateSubscriptionIn,
        idempotency_key: str,
        recorder: Recorder,
    ) -> Subscription:
        """Where the provider can look a subscription up by our reference
        (`find_subscription`), the create is recorded before the call
        (`changes.record_create`) and its outcome applied once.

        Raises: NoSubscriptionProvider, ProviderNotSupported, ProviderDeclined (nothing made;
        the key is free), ProviderUnavailable, ProviderTimeout, ProviderError (recorded
        creates stay in flight: a retry with the same key answers 409
        `subscription_in_flight` until the recovery job resolves it)."""
        tenant_id = subject.tenant_id
        candidates: list[str]
        if body.provider is not None:
            if body.provider not in routing.SUBSCRIPTION_PROVIDERS:
                raise ProviderNotSupported(f"{body.provider} has no subscriptions")
            candidates = [body.provider]
        elif body.plan is not None:
            candidates = [
                p
                for p in routing.builtin_order(body.plan.amount.currency)
                if p in routing.SUBSCRIPTION_PROVIDERS
            ] or list(routing.SUBSCRIPTION_PROVIDERS)
        else:
            candidates = list(routing.SUBSCRIPTION_PROVIDERS)
        usable = await enabled_providers(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            caller_environment=subject.environment,
            candidates=candidates,
        )
        if not usable:
            raise NoSubscriptionProvider(
                "connect Stripe, PayPal, Razorpay or Paystack, or use test mode"
            )
        provider, route = next(iter(usable.items()))
        environment = route.environment
        sub = Subscription(
            tenant_id=tenant_id,
            id=new_id("sub"),
            status=SubscriptionStatus.requires_action.value,
            environment=environment.value,
            provider=provider,
            plan_id=body.plan_id or "",
            quantity=body.quantity,
            total_count=body.total_count,
            customer=body.customer.model_dump(exclude_none=True),
            metadata_=dict(body.metadata),
        )
        if body.plan is not None:
            sub.amount = body.plan.amount.amount
            sub.currency = body.plan.amount.currency
            sub.interval = body.plan.interval.value
            sub.interval_count = body.plan.interval_count
        key = provider_key(tenant_id, idempotency_key, provider, "subscription")
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            provider=provider,
            environment=environment,
            credentials=route.credentials,
        ) as connector:
            if getattr(connector, "find_subscription", None) is None:
                # No lookup by our reference at this provider yet: a lost create could not be
                # resolved, so it is still called inside the request's transaction.
                result = await self._call_create(runtime, connector, sub, body, key)
                sub.provider_subscription_id = result.provider_subscription_id
                self._apply_fields(sub, result)
                sub.status = result.status.value
                await repository.add(session, sub)
                await self._record(session, sub, subject=subject, action="created", before=None)
                return sub
            # Committed before the call: whatever happens next, the create is on record.
            sub_id = sub.id
            change_id = await changes.record_create(recorder, sub, key=key)
            try:
                result = await self._call_create(runtime, connector, sub, body, key)
            except (ProviderDeclined, ProviderNotSupported, ProviderCredentialsRejected) as exc:
                # Refused: nothing was made, so nothing to resolve and the key is free.
                await changes.release_create(
                    recorder,
                    tenant_id=tenant_id,
                    subscription_id=sub_id,
                    change_id=change_id,
                    error_code=exc.code,
                )
                raise
        sub = await self._load(session, tenant_id=tenant_id, subscription_id=sub_id, lock=True)
        await self.apply_created(session, sub, change_id, result, subject=subject)
        return sub

    async def _call_create(
        self,
        runtime: ProviderRuntime,
        connector: Any,
        sub: Subscription,
        body: CreateSubscriptionIn,
        key: str,
    ) -> ProviderSubscription:
        """The plan (when given) and the subscription created at the provider; `sub.plan_id`
        set to the plan made. Our reference (the subscription id) travels with the create."""
        if body.plan is not None:
            sub.plan_id = await call(
                runtime,
                _operation(connector, "create_plan")(
                    CreatePlan(
                        name=body.plan.name,
                        amount=body.plan.amount.to_money(),
                        interval=body.plan.interval,
                        interval_count=body.plan.interval_count,
                        idempotency_key=f"{key}-plan",
                    )
                ),
            )
        result: ProviderSubscription = await call(
            runtime,
            _operation(connector, "create_subscription")(
                CreateSubscription(
                    reference=sub.id,
                    plan_id=sub.plan_id,
                    idempotency_key=key,
                    customer=Customer(**body.customer.model_dump()),
                    quantity=body.quantity,
                    total_count=body.total_count,
                    payment_method=body.payment_method,
                    return_url=body.return_url,
                    metadata=dict(body.metadata),
                )
            ),
        )
        return result

    async def apply_created(
        self,
        session: AsyncSession,
        sub: Subscription,
        change_id: str,
        result: ProviderSubscription,
        *,
        subject: AuthSubject | None,
    ) -> bool:
        """Apply the provider's subscription to a recorded create (the subscription locked by
        the caller), once: False when the create is no longer in flight."""
        row = await changes.change(session, tenant_id=sub.tenant_id, change_id=change_id)
        if row.status != changes.IN_FLIGHT:
            return False
        row.status = changes.SUCCEEDED
        sub.provider_subscription_id = result.provider_subscription_id
        self._apply_fields(sub, result)
        sub.status = result.status.value
        await session.flush()
        await self._record(session, sub, subject=subject, action="created", before=None)
        return True

    async def get(
        self, session: AsyncSession, *, tenant_id: str, subscription_id: str
    ) -> Subscription:
        """Raises: SubscriptionNotFound."""
        return await self._load(session, tenant_id=tenant_id, subscription_id=subscription_id)

    async def act(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        runtime: ProviderRuntime,
        subscription_id: str,
        action: str,
        idempotency_key: str,
        recorder: Recorder,
    ) -> Subscription:
        """`action`: cancel, pause or resume, recorded before the provider call
        (`payments.subscriptions.changes`). Cancelling twice answers the cancelled one.

        Raises: SubscriptionNotFound, SubscriptionFinished, SubscriptionInFlight,
        ProviderNotSupported, ProviderDeclined (nothing changed; the key is free again),
        ProviderUnavailable, ProviderTimeout, ProviderError (the change stays in flight: a
        retry with the same key answers 409 until the recovery job resolves it).
        """
        tenant_id = subject.tenant_id
        # Committed before the call: whatever happens next, the change is on record.
        change_id = await changes.record(
            recorder,
            tenant_id=tenant_id,
            subscription_id=subscription_id,
            action=action,
            key=idempotency_key,
        )
        if change_id is None:
            return await self._load(session, tenant_id=tenant_id, subscription_id=subscription_id)
        sub = await self._load(session, tenant_id=tenant_id, subscription_id=subscription_id)
        row = await changes.change(session, tenant_id=tenant_id, change_id=change_id)
        assert sub.provider_subscription_id is not None
        try:
            async with open_connector(
                session,
                runtime=runtime,
                tenant_id=sub.tenant_id,
                provider=sub.provider,
                environment=Environment(sub.environment),
            ) as connector:
                result = await call(
                    runtime,
                    _operation(connector, f"{action}_subscription")(
                        sub.provider_subscription_id,
                        idempotency_key=row.provider_idempotency_key,
                    ),
                )
        except (ProviderDeclined, ProviderNotSupported, ProviderCredentialsRejected) as exc:
            # Refused: nothing changed, so nothing to resolve and the key is free.
            await changes.release(
                recorder, tenant_id=tenant_id, change_id=change_id, error_code=exc.code
            )
            raise
        sub = await self._load(
            session, tenant_id=tenant_id, subscription_id=subscription_id, lock=True
        )
        await self.apply_change(session, sub, change_id, result, subject=subject)
        return sub

    async def apply_change(
        self,
        session: AsyncSession,
        sub: Subscription,
        change_id: str,
        result: ProviderSubscription,
        *,
        subject: AuthSubject | None,
    ) -> bool:
        """Apply the provider's answer to a recorded change (the subscription locked by the
        caller), once: False when the change is no longer in flight (resolved already)."""
        row = await changes.change(session, tenant_id=sub.tenant_id, change_id=change_id)
        if row.status != changes.IN_FLIGHT:
            return False
        row.status = (
            changes.SUCCEEDED if changes.made(row.action, result.status) else changes.NOT_FOUND
        )
        await self.apply(session, sub, result, subject=subject, action=row.action)
        return True

    async def sync(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        tenant_id: str,
        provider: str,
        provider_subscription_id: str,
    ) -> Subscription | None:
        """Apply the provider's current state of a subscription we know (provider events)."""
        sub = await repository.subscription_by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_subscription_id=provider_subscription_id,
        )
        if sub is None:
            return None
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            provider=provider,
            environment=Environment(sub.environment),
        ) as connector:
            result = await call(
                runtime, _operation(connector, "get_subscription")(provider_subscription_id)
            )
        await self.apply(session, sub, result, subject=None, action="updated")
        return sub

    async def apply(
        self,
        session: AsyncSession,
        sub: Subscription,
        result: ProviderSubscription,
        *,
        subject: AuthSubject | None,
        action: str,
    ) -> None:
        """Follow the provider's status; a final status is never left."""
        self._apply_fields(sub, result)
        current = SubscriptionStatus(sub.status)
        if current in FINAL or result.status is current:
            await session.flush()
            return
        before = summary(sub)
        sub.status = result.status.value
        await session.flush()
        await self._record(session, sub, subject=subject, action=action, before=before)

    async def record_renewal(
        self,
        session: AsyncSession,
        *,
        runtime: ProviderRuntime,
        tenant_id: str,
        provider: str,
        provider_subscription_id: str,
        provider_payment_id: str,
    ) -> Payment | None:
        """Record one renewal charge as a payment, with amount and status fetched from the
        provider. None when the subscription is not ours; the existing payment when known."""
        existing = await payment_service.by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_payment_id=provider_payment_id,
            lock=True,
        )
        sub = await repository.subscription_by_provider_id(
            session,
            tenant_id=tenant_id,
            provider=provider,
            provider_subscription_id=provider_subscription_id,
        )
        if sub is None:
            return existing
        async with open_connector(
            session,
            runtime=runtime,
            tenant_id=tenant_id,
            provider=provider,
            environment=Environment(sub.environment),
        ) as connector:
            result = await call(runtime, connector.get_payment(provider_payment_id))
        payment = existing
        if payment is None:
            payment = Payment(
                tenant_id=tenant_id,
                id=new_id("pay"),
                status=PaymentStatus.created.value,
                environment=sub.environment,
                amount=result.amount.amount,
                currency=result.amount.currency,
                captured_amount=0,
                refunded_amount=0,
                capture_mode=CaptureMode.automatic.value,
                provider=provider,
                provider_payment_id=provider_payment_id,
                description=f"Renewal of subscription {sub.id}",
                customer=dict(sub.customer or {}),
                metadata_=dict(sub.metadata_ or {}),
                subscription_id=sub.id,
            )
            await payment_service.add(session, payment)
            await transitions.record_created(session, payment, subject=None)
        await transitions.apply_provider_payment(
            session, payment, result, subject=None, reason="subscription renewal"
        )
        return payment

    @staticmethod
    def _apply_fields(sub: Subscription, result: ProviderSubscription) -> None:
        if result.plan_id:
            sub.plan_id = result.plan_id
        sub.quantity = result.quantity
        if result.next_action_url:
            sub.next_action_url = result.next_action_url
        if result.current_period_end is not None:
            sub.current_period_end = result.current_period_end

    async def _record(
        self,
        session: AsyncSession,
        sub: Subscription,
        *,
        subject: AuthSubject | None,
        action: str,
        before: dict[str, Any] | None,
    ) -> None:
        done = sub.status if action == "updated" else _PAST.get(action, action)
        await audit.record(
            session,
            subject=subject,
            tenant_id=sub.tenant_id,
            action=f"payments.subscription.{done}",
            target_type="subscription",
            target_id=sub.id,
            before=before,
            after=summary(sub),
        )
        transitions.queue_event(
            session, tenant_id=sub.tenant_id, type=f"subscription.{done}", data=summary(sub)
        )

    async def _load(
        self, session: AsyncSession, *, tenant_id: str, subscription_id: str, lock: bool = False
    ) -> Subscription:
        sub = await repository.subscription(
            session, tenant_id=tenant_id, subscription_id=subscription_id, lock=lock
        )
        if sub is None:
            raise SubscriptionNotFound(f"no subscription {subscription_id}")
        return sub


subscriptions = SubscriptionService()
