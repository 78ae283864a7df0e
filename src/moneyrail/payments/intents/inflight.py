"""Record before you call (design rule 6): the committed record around a payment's create call.

`record` runs before each provider call, in a short transaction of its own (a session from
`Recorder.sessions`, never the request's) and commits: the payment (status `created`), its
attempts — the one about to be sent `in_flight`, with the provider idempotency key it carries
and our reference (the payment id) — and, on the first attempt, the client's Idempotency-Key
mapped to a stored 409 `payment_in_flight` answer. The request's own transaction then applies
the call's outcome and its idempotency record replaces the 409 with the real response. If
that transaction fails after the provider acted, the record stays: a retry with the same key
is answered 409 without reaching the provider, and the recovery job
(`payments.tasks.recover_in_flight`) resolves the attempt by looking the payment up at the
provider.

`release` closes a record whose call moved nothing (every provider refused before accepting,
or refused our credentials): the attempts keep their outcomes, the payment is `failed`, and
the 409 is removed so the client may retry with the same key.

Sessions come from the request's session factory when tests substitute one
(`app.state.session_factory`: then the record is a savepoint of the test's transaction),
otherwise from the app's `Database`, on a connection of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import driver, set_tenant
from moneyrail.core.errors import PROBLEM_TYPE_BASE, Conflict
from moneyrail.core.idempotency import RECORD_SQL
from moneyrail.payments.intents.repository import repository
from moneyrail.payments.models import Payment, PaymentAttempt
from moneyrail.payments.recorder import Recorder as Recorder

IN_FLIGHT = "in_flight"
NOT_FOUND = "not_found"
IN_FLIGHT_STATUS = 409

_RELEASE_SQL = (
    "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND request_hash = $3"
    " AND response_status = 409"
)
IN_FLIGHT_CODES = (
    "payment_in_flight",
    "capture_in_flight",
    "refund_in_flight",
    "subscription_in_flight",
)
# The stored in-flight answer replaced by the outcome (recovery job): only while it is the 409.
REPLACE_SQL = """
    UPDATE idempotency_keys SET response_status = $3, response_body = $4::jsonb
    WHERE tenant_id = $1 AND key = $2 AND response_status = 409
      AND response_body ->> 'code' IN ('payment_in_flight', 'capture_in_flight', 'refund_in_flight',
                                       'subscription_in_flight')
"""
# The stored in-flight answer removed (recovery found the call moved nothing): the key is free.
FORGET_SQL = """
    DELETE FROM idempotency_keys
    WHERE tenant_id = $1 AND key = $2 AND response_status = 409
      AND response_body ->> 'code' IN ('payment_in_flight', 'capture_in_flight', 'refund_in_flight',
                                       'subscription_in_flight')
"""


class PaymentInFlight(Conflict):
    code = "payment_in_flight"
    title = "The payment's provider call has not been resolved yet"


class CaptureInFlight(Conflict):
    code = "capture_in_flight"
    title = "The capture's provider call has not been resolved yet"


class RefundInFlight(Conflict):
    code = "refund_in_flight"
    title = "The refund's provider call has not been resolved yet"


def in_flight_body(payment_id: str) -> str:
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + PaymentInFlight.code,
            "title": PaymentInFlight.title,
            "status": IN_FLIGHT_STATUS,
            "detail": "the provider was called for this request and its outcome is not recorded "
            "yet; it is being resolved from the provider — read the payment, or retry later",
            "code": PaymentInFlight.code,
            "payment_id": payment_id,
        }
    )


def answer_body(error: type[Conflict], detail: str, **ids: str) -> str:
    """A stored 409 in-flight answer (`error.code`), naming the objects it is about."""
    return json.dumps(
        {
            "type": PROBLEM_TYPE_BASE + error.code,
            "title": error.title,
            "status": IN_FLIGHT_STATUS,
            "detail": detail,
            "code": error.code,
            **ids,
        }
    )


async def remember(session: AsyncSession, recorder: Recorder, tenant_id: str, body: str) -> None:
    """Map the client's key to the stored 409 `body`, in the record's own transaction."""
    now = datetime.now(UTC)
    await (await driver(session)).execute(
        RECORD_SQL,
        tenant_id,
        recorder.key,
        recorder.request_hash,
        recorder.method,
        recorder.path,
        IN_FLIGHT_STATUS,
        body,
        now,
        now + timedelta(hours=limits.idempotency_ttl_hours),
    )


async def forget(session: AsyncSession, recorder: Recorder, tenant_id: str) -> None:
    """Remove the stored 409 of this request (its call moved nothing): the key is free."""
    await (await driver(session)).execute(
        _RELEASE_SQL, tenant_id, recorder.key, recorder.request_hash
    )


async def record(recorder: Recorder, payment: Payment, attempts: Sequence[PaymentAttempt]) -> None:
    """Commit the payment and its attempts as they stand (the last one in flight)."""
    now = datetime.now(UTC)
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, payment.tenant_id)
        if len(attempts) == 1:
            await repository.insert_new_payment(session, payment, attempts)
            await (await driver(session)).execute(
                RECORD_SQL,
                payment.tenant_id,
                recorder.key,
                recorder.request_hash,
                recorder.method,
                recorder.path,
                IN_FLIGHT_STATUS,
                in_flight_body(payment.id),
                now,
                now + timedelta(hours=limits.idempotency_ttl_hours),
            )
        else:
            await repository.record_fallback(session, payment, attempts)


async def release(
    recorder: Recorder,
    payment: Payment,
    attempts: Sequence[PaymentAttempt],
    *,
    failure_code: str,
    failure_message: str,
) -> None:
    """Close a record whose calls moved nothing: attempts as they ended, the payment failed,
    the client's key free again."""
    async with recorder.sessions() as session, session.begin():
        await set_tenant(session, payment.tenant_id)
        await repository.record_released(
            session,
            payment,
            attempts,
            failure_code=failure_code,
            failure_message=failure_message,
        )
        await (await driver(session)).execute(
            _RELEASE_SQL, payment.tenant_id, recorder.key, recorder.request_hash
        )
