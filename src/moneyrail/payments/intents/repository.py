"""SQL for payments and their attempts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, Select, Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from moneyrail.core.db import driver
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.payments.models import (
    Payment,
    PaymentAttempt,
    PaymentCapture,
    Refund,
)


@dataclass(frozen=True)
class PaymentFilters:
    status: str | None = None
    provider: str | None = None
    currency: str | None = None
    environment: str | None = None
    subscription_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


_PAYMENTS = cast(Table, Payment.__table__)
_ATTEMPTS = cast(Table, PaymentAttempt.__table__)
_TIMESTAMPS = ("created_at", "updated_at")


def _row_columns(model: type[Any], table: Table) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, column, is JSONB) for every column of a mapped table, in table order."""
    keys = {prop.columns[0].name: prop.key for prop in model.__mapper__.column_attrs}
    columns: list[Column[Any]] = list(table.columns)
    return tuple((keys[c.name], c.name, isinstance(c.type, JSONB)) for c in columns)


_PAYMENT_COLUMNS = _row_columns(Payment, _PAYMENTS)
_ATTEMPT_COLUMNS = _row_columns(PaymentAttempt, _ATTEMPTS)
_ATTEMPT_ARRAY_TYPES = {
    "tenant_id": "text[]",
    "payment_id": "text[]",
    "seq": "int[]",
    "provider": "text[]",
    "outcome": "text[]",
    "error_code": "text[]",
    "created_at": "timestamptz[]",
    "provider_idempotency_key": "text[]",
    "reference": "text[]",
}


def _insert_payment_sql() -> str:
    """A payment and any number of its attempts in one statement (the attempts as arrays)."""
    payment_columns = ", ".join(name for _, name, _ in _PAYMENT_COLUMNS)
    payment_values = ", ".join(
        f"${n}::jsonb" if is_json else f"${n}"
        for n, (_, _, is_json) in enumerate(_PAYMENT_COLUMNS, start=1)
    )
    first = len(_PAYMENT_COLUMNS) + 1
    attempt_columns = [name for _, name, _ in _ATTEMPT_COLUMNS]
    arrays = ", ".join(
        f"${n}::{_ATTEMPT_ARRAY_TYPES[name]}" for n, name in enumerate(attempt_columns, start=first)
    )
    names = ", ".join(attempt_columns)
    return (
        f"WITH new_payment AS (INSERT INTO payments ({payment_columns}) VALUES ({payment_values}))"
        f" INSERT INTO payment_attempts ({names}) SELECT {names} FROM unnest({arrays})"
        f" AS a({names})"
    )


_INSERT_PAYMENT = _insert_payment_sql()


def _fill(row: Any, columns: tuple[tuple[str, str, bool], ...], now: datetime) -> list[Any]:
    """Every column of a new ORM row as statement parameters (JSONB as JSON text), each one
    set on the row too, so the row is complete once it joins the session (timestamps
    default to `now`)."""
    state = row.__dict__
    values: list[Any] = []
    for key, _, is_json in columns:
        value = state.get(key)
        if value is None and key in _TIMESTAMPS:
            value = now
        if key not in state or state[key] is not value:
            # Set even when None: an attribute never set would be expired, i.e. read back.
            setattr(row, key, value)
        values.append(json.dumps(value) if is_json and value is not None else value)
    return values


class PaymentsRepository:
    async def add(self, session: AsyncSession, row: Any) -> None:
        session.add(row)
        await session.flush()

    async def insert_new_payment(
        self, session: AsyncSession, payment: Payment, attempts: Sequence[PaymentAttempt]
    ) -> None:
        """A new payment and its attempts in one statement; the objects join the session as
        rows loaded in full, so nothing is flushed or read back for them afterwards."""
        now = datetime.now(UTC)
        params = _fill(payment, _PAYMENT_COLUMNS, now)
        rows = [_fill(attempt, _ATTEMPT_COLUMNS, now) for attempt in attempts]
        params.extend([row[i] for row in rows] for i in range(len(_ATTEMPT_COLUMNS)))
        await (await driver(session)).execute(_INSERT_PAYMENT, *params)
        for row in (payment, *attempts):
            make_transient_to_detached(row)
            session.add(row)

    async def payment(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str, lock: bool = False
    ) -> Payment | None:
        stmt = select(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def payment_by_provider_id(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        provider: str,
        provider_payment_id: str,
        lock: bool = False,
    ) -> Payment | None:
        stmt = select(Payment).where(
            Payment.tenant_id == tenant_id,
            Payment.provider == provider,
            Payment.provider_payment_id == provider_payment_id,
        )
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def payments_page(
        self, session: AsyncSession, *, tenant_id: str, filters: PaymentFilters, params: PageParams
    ) -> tuple[list[Payment], str | None]:
        stmt: Select[Any] = select(Payment).where(Payment.tenant_id == tenant_id)
        conditions = [
            (filters.status, Payment.status),
            (filters.provider, Payment.provider),
            (filters.currency, Payment.currency),
            (filters.environment, Payment.environment),
            (filters.subscription_id, Payment.subscription_id),
        ]
        for value, column in conditions:
            if value is not None:
                stmt = stmt.where(column == value)
        if filters.created_after is not None:
            stmt = stmt.where(Payment.created_at >= filters.created_after)
        if filters.created_before is not None:
            stmt = stmt.where(Payment.created_at < filters.created_before)
        rows = (await session.scalars(paginate_by_key(stmt, Payment.id.expression, params))).all()
        return make_page(rows, params, lambda row: row.id)

    async def attempts(
        self, session: AsyncSession, *, tenant_id: str, payment_ids: Sequence[str]
    ) -> dict[str, list[PaymentAttempt]]:
        if not payment_ids:
            return {}
        stmt = (
            select(PaymentAttempt)
            .where(
                PaymentAttempt.tenant_id == tenant_id,
                PaymentAttempt.payment_id.in_(payment_ids),
            )
            .order_by(PaymentAttempt.payment_id, PaymentAttempt.seq)
        )
        found: dict[str, list[PaymentAttempt]] = {}
        for row in (await session.scalars(stmt)).all():
            found.setdefault(row.payment_id, []).append(row)
        return found

    async def due_for_polling(
        self, session: AsyncSession, *, statuses: Sequence[str], before: datetime, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(tenant, payment) pairs waiting on a provider, oldest first (caller bypasses RLS)."""
        stmt = (
            select(Payment.tenant_id, Payment.id)
            .where(Payment.status.in_(statuses), Payment.updated_at < before)
            .order_by(Payment.updated_at)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]

    async def payments_with_pending_refunds(
        self, session: AsyncSession, *, before: datetime, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(tenant, payment) pairs with a refund the provider has not settled yet."""
        stmt = (
            select(Refund.tenant_id, Refund.payment_id)
            .where(
                Refund.status == "pending",
                Refund.provider_refund_id.is_not(None),
                Refund.updated_at < before,
            )
            .group_by(Refund.tenant_id, Refund.payment_id)
            .order_by(func.min(Refund.updated_at))
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]

    async def lock_for_polling(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        payment_id: str,
        statuses: Sequence[str] | None = None,
    ) -> Payment | None:
        """The payment, locked, unless another poller holds it or it moved on."""
        stmt = select(Payment).where(Payment.tenant_id == tenant_id, Payment.id == payment_id)
        if statuses is not None:
            stmt = stmt.where(Payment.status.in_(statuses))
        stmt = stmt.with_for_update(skip_locked=True).execution_options(populate_existing=True)
        return await session.scalar(stmt)

    # --- record before you call (payments.intents.inflight) ---------------------------------

    async def record_fallback(
        self, session: AsyncSession, payment: Payment, attempts: Sequence[PaymentAttempt]
    ) -> None:
        """The payment moved on to the last attempt's provider; the attempts before it ended."""
        now = datetime.now(UTC)
        await session.execute(
            update(Payment)
            .where(Payment.tenant_id == payment.tenant_id, Payment.id == payment.id)
            .values(
                provider=payment.provider,
                environment=payment.environment,
                provider_idempotency_key=payment.provider_idempotency_key,
                updated_at=now,
            )
        )
        await self._attempt_outcomes(session, attempts[:-1])
        last = attempts[-1]
        await session.execute(
            insert(PaymentAttempt).values(
                tenant_id=last.tenant_id,
                payment_id=last.payment_id,
                seq=last.seq,
                provider=last.provider,
                outcome=last.outcome,
                error_code=last.error_code,
                provider_idempotency_key=last.provider_idempotency_key,
                reference=last.reference,
                created_at=now,
            )
        )

    async def record_released(
        self,
        session: AsyncSession,
        payment: Payment,
        attempts: Sequence[PaymentAttempt],
        *,
        failure_code: str,
        failure_message: str,
    ) -> None:
        await self._attempt_outcomes(session, attempts)
        await session.execute(
            update(Payment)
            .where(Payment.tenant_id == payment.tenant_id, Payment.id == payment.id)
            .values(
                status="failed",
                failure_code=failure_code[:64],
                failure_message=failure_message[:500],
                updated_at=datetime.now(UTC),
            )
        )

    async def _attempt_outcomes(
        self, session: AsyncSession, attempts: Sequence[PaymentAttempt]
    ) -> None:
        for attempt in attempts:
            await session.execute(
                update(PaymentAttempt)
                .where(
                    PaymentAttempt.tenant_id == attempt.tenant_id,
                    PaymentAttempt.payment_id == attempt.payment_id,
                    PaymentAttempt.seq == attempt.seq,
                )
                .values(outcome=attempt.outcome, error_code=attempt.error_code)
            )

    async def in_flight_due(
        self, session: AsyncSession, *, before: datetime, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(tenant, payment) of attempts in flight since before `before`, oldest first
        (caller bypasses RLS)."""
        stmt = (
            select(PaymentAttempt.tenant_id, PaymentAttempt.payment_id)
            .where(PaymentAttempt.outcome == "in_flight", PaymentAttempt.created_at < before)
            .order_by(PaymentAttempt.created_at)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]

    async def in_flight_attempt(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> PaymentAttempt | None:
        """The payment's attempt in flight, if any (read under the payment's row lock)."""
        stmt = (
            select(PaymentAttempt)
            .where(
                PaymentAttempt.tenant_id == tenant_id,
                PaymentAttempt.payment_id == payment_id,
                PaymentAttempt.outcome == "in_flight",
            )
            .execution_options(populate_existing=True)
        )
        return await session.scalar(stmt)

    # --- captures recorded before their call (payments.intents.captures) ---------------------

    async def add_capture(self, session: AsyncSession, capture: PaymentCapture) -> None:
        session.add(capture)
        await session.flush()

    async def capture_in_flight(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> PaymentCapture | None:
        """The payment's capture in flight, if any, locked (read under the payment's lock)."""
        stmt = (
            select(PaymentCapture)
            .where(
                PaymentCapture.tenant_id == tenant_id,
                PaymentCapture.payment_id == payment_id,
                PaymentCapture.status == "in_flight",
            )
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await session.scalar(stmt)

    async def capture(
        self, session: AsyncSession, *, tenant_id: str, capture_id: str
    ) -> PaymentCapture | None:
        """One capture, locked."""
        stmt = (
            select(PaymentCapture)
            .where(PaymentCapture.tenant_id == tenant_id, PaymentCapture.id == capture_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await session.scalar(stmt)

    async def captures_in_flight_due(
        self, session: AsyncSession, *, before: datetime, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(tenant, payment) of captures in flight since before `before`, oldest first
        (caller bypasses RLS)."""
        stmt = (
            select(PaymentCapture.tenant_id, PaymentCapture.payment_id)
            .where(PaymentCapture.status == "in_flight", PaymentCapture.created_at < before)
            .order_by(PaymentCapture.created_at)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


repository = PaymentsRepository()
