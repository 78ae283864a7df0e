"""Record before you call (design rule 6) for subscription cancel, pause and resume.

`record` runs before the provider call in a short transaction of its own (a session from
`Recorder.sessions`, never the request's): under the subscription's row lock it checks that
the change can be made, writes it `in_flight` (`payment_subscription_changes`) with the
provider idempotency key it carries and the client's key, maps the client's key to a stored
409 `subscription_in_flight` answer, and commits. The request's transaction then applies the
call's outcome once (`apply`: subscription locked, only while the change is in flight). A
change the provider refused is `release`d (nothing changed; the key is free again). Any other
failure leaves the record: a retry with the same key answers 409 without reaching the
provider, and the recovery job (`payments.tasks.recover_in_flight`) reads the subscription
at the provider (`get_subscription`, the lookup) and applies it — never sending the change
again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors.base import (
    Environment,
    ProviderNotSupported,
    ProviderSubscription,
    SubscriptionStatus,
)
from moneyrail.core.db import set_tenant
from moneyrail.core.errors import Conflict, NotFound
from moneyrail.core.ids import new_id
from moneyrail.payments.intents.inflight import answer_body, forget
from moneyrail.payments.intents.inflight import remember as remember_answer
from moneyrail.payments.models import Subscription, SubscriptionChange
from moneyrail.payments.providers import ProviderRuntime, call, open_connector, provider_key
from moneyrail.payments.recorder import Recorder

IN_FLIGHT = "in_flight"
SUCCEEDED = "succeeded"
FAILED = "failed"
NOT_FOUND = "not_found"

FINAL = frozenset({SubscriptionStatus.cancelled, SubscriptionStatus.completed})


class SubscriptionInFlight(Conflict):
    code = "subscription_in_flight"
    title = "The subscription's provider call has not been resolved yet"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "Subscription not found"


class SubscriptionFinished(Conflict):
    code = "subscription_finished"
    title = "The subscription has ended"


def made(action: str, status: SubscriptionStatus) -> bool:
    """Whether the provider's status shows the change was made."""
    if action == "cancel":
        return status in FINAL
    if action == "pause":
        return status is SubscriptionStatus.paused
    return status is not SubscriptionStatus.paused


async def in_flight(
    session: AsyncSession, *, tenant_id: str, subscription_id: str
) -> SubscriptionChange | None:
    stmt = select(SubscriptionChange).where(
        SubscriptionChange.tenant_id == tenant_id,
        SubscriptionChange.subscription_id == subscription_id,
        SubscriptionChange.status == IN_FLIGHT,
    )
    return await session.scalar(stmt.order_by(SubscriptionChange.created_at).limit(1))


async def change(session: AsyncSession, *, tenant_id: str, change_id: str) -> SubscriptionChange:
    found = await session.get(SubscriptionChange, (tenant_id, change_id), populate_existing=True)
    assert found is not None
    return found


async def record(
    recorder: Recorder, *, tenant_id: str, subscription_id: str, action: str, key: str
) -> str | None:
    """Commit the change in flight, under the subscription's row lock; its id, or None when
    there is nothing to send (cancelling a subscription that has ended). `key` is what the
    provider idempotency key is derived from (the client's key, or one per action).

    Raises: SubscriptionNotFound, SubscriptionFinished, SubscriptionInFlight (another change
    of this subscription is unresolved).
    """
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        sub = await session.scalar(
            select(Subscription)
            .where(Subscription.tenant_id == tenant_id, Subscription.id == subscription_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if sub is None:
            raise SubscriptionNotFound(f"no subscription {subscription_id}")
        if SubscriptionStatus(sub.status) in FINAL:
            if action == "cancel":
                return None
            raise SubscriptionFinished(f"the subscription is {sub.status}")
        if await in_flight(session, tenant_id=tenant_id, subscription_id=subscription_id):
            raise SubscriptionInFlight(
                "a change of this subscription was sent to the provider and is being resolved",
                extra={"subscription_id": subscription_id},
            )
        row = SubscriptionChange(
            tenant_id=tenant_id,
            id=new_id("sch"),
            subscription_id=subscription_id,
            action=action,
            status=IN_FLIGHT,
            provider=sub.provider,
            provider_idempotency_key=provider_key(tenant_id, key, sub.provider, action),
            idempotency_key=recorder.key or None,
        )
        session.add(row)
        await session.flush()
        if recorder.key:
            await remember_answer(
                session,
                recorder,
                tenant_id,
                answer_body(
                    SubscriptionInFlight,
                    f"the provider was called to {action} this subscription and its outcome is "
                    "not recorded yet; it is being resolved from the provider — read the "
                    "subscription, or retry later",
                    subscription_id=subscription_id,
                    change_id=row.id,
                ),
            )
        return row.id


async def release(recorder: Recorder, *, tenant_id: str, change_id: str, error_code: str) -> None:
    """Close a change the provider refused (nothing changed): the key is free again."""
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        row = await change(session, tenant_id=tenant_id, change_id=change_id)
        if row.status == IN_FLIGHT:
            row.status, row.error_code = FAILED, error_code
            await session.flush()
        if recorder.key:
            await forget(session, recorder, tenant_id)


async def look_up(
    session: AsyncSession, *, sub: Subscription, runtime: ProviderRuntime
) -> ProviderSubscription:
    """The subscription as its provider holds it: a change is looked up by reading the
    subscription, never by sending the change again.

    Raises: ProviderUnavailable, ProviderTimeout, ProviderError.
    """
    assert sub.provider_subscription_id is not None
    async with open_connector(
        session,
        runtime=runtime,
        tenant_id=sub.tenant_id,
        provider=sub.provider,
        environment=Environment(sub.environment),
    ) as connector:
        get = getattr(connector, "get_subscription", None)
        if get is None:
            raise ProviderNotSupported(f"{connector.name} has no subscriptions")
        result: ProviderSubscription = await call(runtime, get(sub.provider_subscription_id))
        return result
