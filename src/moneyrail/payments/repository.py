"""SQL for payments: the only module here that builds queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, Select, Table, and_, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from moneyrail.core import limits
from moneyrail.core.db import driver
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.payments.models import (
    InboundEvent,
    Payment,
    PaymentAttempt,
    ProviderAccount,
    ProviderCredential,
    Refund,
    RoutingConfig,
    Subscription,
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


@dataclass(frozen=True)
class SealedCredential:
    """A stored credential row as read for a payment: what opening it needs, no ORM state."""

    tenant_id: str
    id: str
    provider: str
    environment: str
    ciphertext: str


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

# One row of arrays (one element per configured provider and credential row), NULLs when
# the tenant configured nothing.
_PROVIDER_SETUP = """
    SELECT array_agg(coalesce(a.provider, c.provider)), array_agg(a.environment),
           array_agg(c.id), array_agg(c.provider), array_agg(c.environment),
           array_agg(c.ciphertext)
    FROM payment_provider_accounts a
    FULL JOIN payment_provider_credentials c
        ON c.tenant_id = a.tenant_id AND c.provider = a.provider
    WHERE a.tenant_id = $1 OR c.tenant_id = $1
"""

_ROUTING = "SELECT rules, default_providers FROM payment_routing WHERE tenant_id = $1"


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
    # --- provider accounts and credentials --------------------------------------------------

    async def account(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> ProviderAccount | None:
        return await session.get(ProviderAccount, (tenant_id, provider))

    async def accounts(self, session: AsyncSession, *, tenant_id: str) -> Sequence[ProviderAccount]:
        stmt = select(ProviderAccount).where(ProviderAccount.tenant_id == tenant_id)
        return (await session.scalars(stmt)).all()

    async def ensure_account(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> ProviderAccount:
        await session.execute(
            insert(ProviderAccount)
            .values(tenant_id=tenant_id, provider=provider)
            .on_conflict_do_nothing()
        )
        account = await session.get(ProviderAccount, (tenant_id, provider), populate_existing=True)
        assert account is not None
        return account

    async def provider_setup(
        self, session: AsyncSession, *, tenant_id: str
    ) -> list[tuple[str, str | None, SealedCredential | None]]:
        """(provider, its environment setting or None, one credential row or None) for
        every provider the tenant configured, in one round trip."""
        row = await (await driver(session)).fetchrow(_PROVIDER_SETUP, tenant_id)
        if row is None or row[0] is None:
            return []
        found: list[tuple[str, str | None, SealedCredential | None]] = []
        for provider, environment, row_id, row_provider, row_environment, ciphertext in zip(
            *row, strict=True
        ):
            sealed = None
            if row_id is not None:
                sealed = SealedCredential(
                    tenant_id, row_id, row_provider, row_environment, ciphertext
                )
            found.append((provider, environment, sealed))
        return found

    async def credential(
        self, session: AsyncSession, *, tenant_id: str, provider: str, environment: str
    ) -> ProviderCredential | None:
        stmt = select(ProviderCredential).where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider,
            ProviderCredential.environment == environment,
        )
        return await session.scalar(stmt)

    async def credentials(
        self, session: AsyncSession, *, tenant_id: str, provider: str | None = None
    ) -> Sequence[ProviderCredential]:
        stmt = select(ProviderCredential).where(ProviderCredential.tenant_id == tenant_id)
        if provider is not None:
            stmt = stmt.where(ProviderCredential.provider == provider)
        return (await session.scalars(stmt.order_by(ProviderCredential.provider))).all()

    async def credentials_batch(
        self, session: AsyncSession, *, after: tuple[str, str] | None
    ) -> Sequence[ProviderCredential]:
        """Every tenant's rows in key order, locked, one batch after `after` (key rotation)."""
        stmt = select(ProviderCredential)
        if after is not None:
            stmt = stmt.where(
                tuple_(ProviderCredential.tenant_id, ProviderCredential.id) > tuple_(*after)
            )
        stmt = (
            stmt.order_by(ProviderCredential.tenant_id, ProviderCredential.id)
            .limit(limits.credential_rotation_batch_size_max)
            .with_for_update()
        )
        return (await session.scalars(stmt)).all()

    async def delete_provider(self, session: AsyncSession, *, tenant_id: str, provider: str) -> int:
        creds = await session.execute(
            delete(ProviderCredential).where(
                ProviderCredential.tenant_id == tenant_id, ProviderCredential.provider == provider
            )
        )
        accounts = await session.execute(
            delete(ProviderAccount).where(
                ProviderAccount.tenant_id == tenant_id, ProviderAccount.provider == provider
            )
        )
        return int(creds.rowcount or 0) + int(accounts.rowcount or 0)  # type: ignore[attr-defined]

    # --- payments ---------------------------------------------------------------------------

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

    # --- refunds ----------------------------------------------------------------------------

    async def refund(
        self, session: AsyncSession, *, tenant_id: str, refund_id: str, lock: bool = False
    ) -> Refund | None:
        stmt = select(Refund).where(Refund.tenant_id == tenant_id, Refund.id == refund_id)
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def refund_by_provider_id(
        self, session: AsyncSession, *, tenant_id: str, provider: str, provider_refund_id: str
    ) -> Refund | None:
        stmt = select(Refund).where(
            Refund.tenant_id == tenant_id,
            Refund.provider == provider,
            Refund.provider_refund_id == provider_refund_id,
        )
        return await session.scalar(stmt.with_for_update())

    async def refunds_of(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> Sequence[Refund]:
        stmt = (
            select(Refund)
            .where(Refund.tenant_id == tenant_id, Refund.payment_id == payment_id)
            .order_by(Refund.id)
            .with_for_update()
        )
        return (await session.scalars(stmt)).all()

    async def refund_totals(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str
    ) -> tuple[int, int]:
        """(pending + succeeded, succeeded) refund sums of one payment, in minor units."""
        stmt = select(
            func.coalesce(func.sum(Refund.amount).filter(Refund.status != "failed"), 0),
            func.coalesce(func.sum(Refund.amount).filter(Refund.status == "succeeded"), 0),
        ).where(Refund.tenant_id == tenant_id, Refund.payment_id == payment_id)
        reserved, succeeded = (await session.execute(stmt)).one()
        return int(reserved), int(succeeded)

    async def unlinked_pending_refund(
        self, session: AsyncSession, *, tenant_id: str, payment_id: str, amount: int
    ) -> Refund | None:
        """A refund we asked for whose answer never came (no provider id yet)."""
        stmt = (
            select(Refund)
            .where(
                Refund.tenant_id == tenant_id,
                Refund.payment_id == payment_id,
                Refund.status == "pending",
                Refund.provider_refund_id.is_(None),
                Refund.amount == amount,
            )
            .order_by(Refund.id)
            .limit(1)
            .with_for_update()
        )
        return await session.scalar(stmt)

    # --- subscriptions ----------------------------------------------------------------------

    async def subscription(
        self, session: AsyncSession, *, tenant_id: str, subscription_id: str, lock: bool = False
    ) -> Subscription | None:
        stmt = select(Subscription).where(
            Subscription.tenant_id == tenant_id, Subscription.id == subscription_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return await session.scalar(stmt.execution_options(populate_existing=lock))

    async def subscription_by_provider_id(
        self, session: AsyncSession, *, tenant_id: str, provider: str, provider_subscription_id: str
    ) -> Subscription | None:
        stmt = select(Subscription).where(
            Subscription.tenant_id == tenant_id,
            Subscription.provider == provider,
            Subscription.provider_subscription_id == provider_subscription_id,
        )
        return await session.scalar(stmt.with_for_update())

    # --- routing ----------------------------------------------------------------------------

    async def routing(self, session: AsyncSession, *, tenant_id: str) -> RoutingConfig | None:
        return await session.get(RoutingConfig, tenant_id)

    async def routing_table(
        self, session: AsyncSession, *, tenant_id: str
    ) -> tuple[list[dict[str, Any]], list[str]] | None:
        """(rules, default providers) as stored, for routing a payment; None without any."""
        row = await (await driver(session)).fetchrow(_ROUTING, tenant_id)
        return None if row is None else (row[0], row[1])

    async def save_routing(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        rules: list[dict[str, Any]],
        default_providers: list[str],
    ) -> RoutingConfig:
        stmt = insert(RoutingConfig).values(
            tenant_id=tenant_id, rules=rules, default_providers=default_providers
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RoutingConfig.tenant_id],
                set_={
                    "rules": stmt.excluded.rules,
                    "default_providers": stmt.excluded.default_providers,
                    "updated_at": func.now(),
                },
            )
        )
        row = await session.get(RoutingConfig, tenant_id, populate_existing=True)
        assert row is not None
        return row

    # --- inbound provider events ------------------------------------------------------------

    async def record_event(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        provider: str,
        event_id: str,
        event_type: str,
        object_type: str,
        object_id: str | None,
        outcome: str,
    ) -> bool:
        """Insert the event's key; False when it was already there (a redelivery)."""
        stmt = (
            insert(InboundEvent)
            .values(
                tenant_id=tenant_id,
                provider=provider,
                event_id=event_id[:255],
                event_type=event_type[:100],
                object_type=object_type[:32],
                object_id=object_id[:128] if object_id else None,
                outcome=outcome,
            )
            .on_conflict_do_nothing()
            .returning(InboundEvent.event_id)
        )
        return (await session.scalar(stmt)) is not None

    async def has_provider_footprint(
        self, session: AsyncSession, *, tenant_id: str, provider: str
    ) -> bool:
        """Whether the tenant stored credentials for, paid through or subscribed with it."""
        exists_account = select(ProviderAccount.provider).where(
            and_(ProviderAccount.tenant_id == tenant_id, ProviderAccount.provider == provider)
        )
        exists_payment = select(Payment.id).where(
            Payment.tenant_id == tenant_id, Payment.provider == provider
        )
        exists_subscription = select(Subscription.id).where(
            Subscription.tenant_id == tenant_id, Subscription.provider == provider
        )
        stmt = select(
            exists_account.exists() | exists_payment.exists() | exists_subscription.exists()
        )
        return bool(await session.scalar(stmt))


repository = PaymentsRepository()
