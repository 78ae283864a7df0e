"""Payments tables: provider credentials, payments and their attempts, refunds, subscriptions,
routing rules and the inbound provider events already applied.

Every table is tenant-scoped (row-level security) with `tenant_id` leading its keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.core.db import Base


def _now() -> datetime:
    # Set in Python as well as by the server, so a flushed row never needs a reload.
    return datetime.now(UTC)


class ProviderAccount(Base):
    """A tenant's choice of environment (test/live) for one provider."""

    __tablename__ = "payment_provider_accounts"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "provider"),)

    tenant_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(8), server_default="test")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class ProviderCredential(Base):
    """One provider's secrets for one environment, sealed with AES-256-GCM.

    `ciphertext` holds the JSON `{"values": {...}, "webhook_secrets": [...]}`; its associated
    data binds it to (tenant, provider, environment, row id). `hints` keeps the last four
    characters of each secret, the only part ever shown.
    """

    __tablename__ = "payment_provider_credentials"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "environment"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(8))
    ciphertext: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    hints: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "provider_payment_id"),
        Index("ix_payments_status_updated", "status", "updated_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(24))
    environment: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    captured_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    fee_amount: Mapped[int | None] = mapped_column(BigInteger)
    capture_mode: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    # The key our request carried to the provider: stable per (payment, provider), so a
    # repeated create is answered with the original payment instead of a second charge.
    provider_idempotency_key: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    customer: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    country: Mapped[str | None] = mapped_column(String(2))
    method: Mapped[str | None] = mapped_column(String(32))
    return_url: Mapped[str | None] = mapped_column(Text)
    next_action_url: Mapped[str | None] = mapped_column(Text)
    payment_method: Mapped[str | None] = mapped_column(String(128))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class PaymentAttempt(Base):
    """One try of a payment at one provider, in routing order (what fell back, and why)."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "payment_id", "seq"),
        Index(
            "ix_payment_attempts_in_flight",
            "created_at",
            postgresql_where=text("outcome = 'in_flight'"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    # `in_flight` from the commit before the provider call until its outcome is applied.
    outcome: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64))
    # What recovery asks the provider by: the key the create carried, and our reference
    # (the payment id) sent with it.
    provider_idempotency_key: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class Refund(Base):
    __tablename__ = "payment_refunds"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "provider_refund_id"),
        Index("ix_payment_refunds_payment", "tenant_id", "payment_id"),
        Index(
            "ix_payment_refunds_in_flight",
            "created_at",
            postgresql_where=text("status = 'in_flight'"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    provider_refund_id: Mapped[str | None] = mapped_column(String(128))
    provider_idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # The client's Idempotency-Key: its stored 409 is replaced when recovery resolves the
    # refund (`in_flight` from the commit before the provider call until its outcome).
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class PaymentCapture(Base):
    """One capture request of a payment, recorded before its provider call (design rule 6)."""

    __tablename__ = "payment_captures"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        Index("ix_payment_captures_payment", "tenant_id", "payment_id"),
        Index(
            "ix_payment_captures_in_flight",
            "created_at",
            postgresql_where=text("status = 'in_flight'"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str] = mapped_column(String(40))
    # in_flight | succeeded | failed (refused) | not_found (the provider never captured)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # None: the whole authorization
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(32))
    provider_idempotency_key: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    error_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class Subscription(Base):
    __tablename__ = "payment_subscriptions"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "provider", "provider_subscription_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(24))
    environment: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(32))
    provider_subscription_id: Mapped[str | None] = mapped_column(String(128))
    plan_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    interval: Mapped[str | None] = mapped_column(String(8))
    interval_count: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, server_default="1")
    total_count: Mapped[int | None] = mapped_column(Integer)
    customer: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    next_action_url: Mapped[str | None] = mapped_column(Text)
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class SubscriptionChange(Base):
    """One cancel, pause or resume of a subscription, recorded before its provider call
    (design rule 6)."""

    __tablename__ = "payment_subscription_changes"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "id"),
        Index("ix_payment_subscription_changes_sub", "tenant_id", "subscription_id"),
        Index(
            "ix_payment_subscription_changes_in_flight",
            "created_at",
            postgresql_where=text("status = 'in_flight'"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40))
    id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))  # create | cancel | pause | resume
    # in_flight | succeeded | failed (refused) | not_found (the provider never made it)
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    provider_idempotency_key: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    error_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class RoutingConfig(Base):
    """A tenant's routing rules (ordered) and default provider order."""

    __tablename__ = "payment_routing"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    default_providers: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class InboundEvent(Base):
    """A provider event already applied: the unique key makes redeliveries no-ops."""

    __tablename__ = "payment_inbound_events"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "provider", "event_id"),)

    tenant_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
