"""Subscriptions: create, read, cancel, pause, resume."""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.auth.subject import AuthSubject
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import (
    IdempotencyKey,
    IdempotentRoute,
    OptionalIdempotencyKey,
    idempotent,
)
from moneyrail.payments.auth import PaymentsRead, PaymentsWrite
from moneyrail.payments.deps import CallRecorder, Runtime
from moneyrail.payments.providers import PROVIDER_ERRORS
from moneyrail.payments.subscriptions import views
from moneyrail.payments.subscriptions.schemas import CreateSubscriptionIn, SubscriptionOut
from moneyrail.payments.subscriptions.service import subscriptions as subscription_service

router = APIRouter(tags=["payments"], route_class=IdempotentRoute)
ERRORS = problem_responses(*PROVIDER_ERRORS)


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Create a subscription",
    responses=problem_responses(400, *PROVIDER_ERRORS),
)
@idempotent(required=True)
async def create_subscription(
    body: CreateSubscriptionIn,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
    recorder: CallRecorder,
) -> SubscriptionOut:
    """On a provider plan (`plan_id`) or a plan created now (`plan`). Renewal charges are
    recorded as payments with this subscription's id."""
    sub = await subscription_service.create(
        session,
        subject=subject,
        runtime=runtime,
        body=body,
        idempotency_key=key,
        recorder=recorder,
    )
    return views.subscription_out(sub)


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="A subscription",
    responses=problem_responses(404),
)
async def get_subscription(
    subscription_id: str, subject: PaymentsRead, session: SessionDep
) -> SubscriptionOut:
    """One subscription with its plan, status and provider reference."""
    sub = await subscription_service.get(
        session, tenant_id=subject.tenant_id, subscription_id=subscription_id
    )
    return views.subscription_out(sub)


async def _act(
    action: str,
    subscription_id: str,
    subject: AuthSubject,
    session: SessionDep,
    runtime: Runtime,
    key: str | None,
    recorder: CallRecorder,
) -> SubscriptionOut:
    sub = await subscription_service.act(
        session,
        subject=subject,
        runtime=runtime,
        subscription_id=subscription_id,
        action=action,
        idempotency_key=key or f"{action}:{subscription_id}",
        recorder=recorder,
    )
    return views.subscription_out(sub)


@router.delete(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Cancel a subscription",
    responses=ERRORS,
)
@idempotent()
async def cancel_subscription(
    subscription_id: str,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: OptionalIdempotencyKey,
    recorder: CallRecorder,
) -> SubscriptionOut:
    """Cancels the subscription at its provider; no further renewals are charged. Answers 409
    when it is already cancelled."""
    return await _act("cancel", subscription_id, subject, session, runtime, key, recorder)


@router.post(
    "/subscriptions/{subscription_id}/pause",
    response_model=SubscriptionOut,
    summary="Pause a subscription's billing",
    responses=ERRORS,
)
@idempotent(required=True)
async def pause_subscription(
    subscription_id: str,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
    recorder: CallRecorder,
) -> SubscriptionOut:
    """Pauses renewals at the provider (where the provider supports it); resume continues the
    same subscription."""
    return await _act("pause", subscription_id, subject, session, runtime, key, recorder)


@router.post(
    "/subscriptions/{subscription_id}/resume",
    response_model=SubscriptionOut,
    summary="Resume a paused subscription",
    responses=ERRORS,
)
@idempotent(required=True)
async def resume_subscription(
    subscription_id: str,
    subject: PaymentsWrite,
    session: SessionDep,
    runtime: Runtime,
    key: IdempotencyKey,
    recorder: CallRecorder,
) -> SubscriptionOut:
    """Resumes a paused subscription at its provider. Answers 409 unless it is paused."""
    return await _act("resume", subscription_id, subject, session, runtime, key, recorder)
