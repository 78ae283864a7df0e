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

Creation is recorded the same way where the provider can look a subscription up by our
reference (`find_subscription`; Stripe, Razorpay): `record_create` commits the subscription (no
provider id yet) with a `create` change in flight and the stored 409, the provider is
called, and the request applies the outcome once; the recovery job looks a lost create up
by our reference (the subscription id, sent as metadata), never creating it again. A create
that was refused, or that the provider never made, removes the subscription and frees the
key. Providers without that lookup still create inside the request's transaction.
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

CREATE = "create"

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


async def record_create(recorder: Recorder, sub: Subscription, *, key: str) -> str:
    """Commit `sub` (a new row, no provider id yet) with its `create` change in flight and the
    client's key mapped to the stored 409; the change's id. `key` is the provider
    idempotency key the create carries."""
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, sub.tenant_id)
        session.add(sub)
        row = SubscriptionChange(
            tenant_id=sub.tenant_id,
            id=new_id("sch"),
            subscription_id=sub.id,
            action=CREATE,
            status=IN_FLIGHT,
            provider=sub.provider,
            provider_idempotency_key=key,
            idempotency_key=recorder.key or None,
        )
        session.add(row)
        await session.flush()
        if recorder.key:
            await remember_answer(
                session,
                recorder,
                sub.tenant_id,
                answer_body(
                    SubscriptionInFlight,
                    "the provider was called to create this subscription and its outcome is "
                    "not recorded yet; it is being resolved from the provider — read the "
                    "subscription, or retry later",
                    subscription_id=sub.id,
                    change_id=row.id,
                ),
            )
        session.expunge(sub)
        return row.id


async def forget_create(
    session: AsyncSession, *, sub: Subscription, change_id: str, status: str, error_code: str | None
) -> None:
    """Close a create the provider refused or never made: the change ends `status`, the
    subscription (never made) is removed."""
    row = await change(session, tenant_id=sub.tenant_id, change_id=change_id)
    if row.status == IN_FLIGHT:
        row.status, row.error_code = status, error_code
    await session.delete(sub)
    await session.flush()


async def release_create(
    recorder: Recorder, *, tenant_id: str, subscription_id: str, change_id: str, error_code: str
) -> None:
    """A create the provider refused (nothing made): the subscription removed, the key free."""
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, tenant_id)
        sub = await session.scalar(
            select(Subscription)
            .where(Subscription.tenant_id == tenant_id, Subscription.id == subscription_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if sub is not None:
            await forget_create(
                session, sub=sub, change_id=change_id, status=FAILED, error_code=error_code
            )
        if recorder.key:
            await forget(session, recorder, tenant_id)


async def find_created(
    session: AsyncSession, *, sub: Subscription, runtime: ProviderRuntime
) -> ProviderSubscription | None:
    """The subscription a lost create made, looked up at the provider by our reference (the
    subscription id); None when the provider has none. Never creates it again.

    Raises: ProviderNotSupported (no lookup), ProviderUnavailable, ProviderTimeout,
    ProviderError.
    """
    async with open_connector(
        session,
        runtime=runtime,
        tenant_id=sub.tenant_id,
        provider=sub.provider,
        environment=Environment(sub.environment),
    ) as connector:
        find = getattr(connector, "find_subscription", None)
        if find is None:
            raise ProviderNotSupported(f"{connector.name} cannot look a subscription up")
        result: ProviderSubscription | None = await call(
            runtime, find(reference=sub.id, since=sub.created_at)
        )
        return result
