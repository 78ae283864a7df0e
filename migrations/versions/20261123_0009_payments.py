"""payments: provider credentials, payments, attempts, refunds, subscriptions, routing,
inbound provider events

Revision ID: 20261123_payments
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from moneyrail.core.db import rls_statements

revision: str = "20261123_payments"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("payments",)
depends_on: str | Sequence[str] | None = ("20261123_core", "20261123_identity", "20261123_ledger")

PAYMENT_STATUSES = (
    "created",
    "requires_action",
    "processing",
    "authorized",
    "captured",
    "partially_refunded",
    "refunded",
    "failed",
    "cancelled",
)
SUBSCRIPTION_STATUSES = (
    "requires_action",
    "active",
    "past_due",
    "paused",
    "cancelled",
    "completed",
)
TABLES = (
    "payment_provider_accounts",
    "payment_provider_credentials",
    "payments",
    "payment_attempts",
    "payment_refunds",
    "payment_subscriptions",
    "payment_routing",
    "payment_inbound_events",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def _jsonb(name: str, default: str = "'{}'::jsonb") -> sa.Column:
    return sa.Column(name, postgresql.JSONB, nullable=False, server_default=sa.text(default))


def upgrade() -> None:
    environment = _in("environment", ("test", "live"))
    op.create_table(
        "payment_provider_accounts",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False, server_default="test"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "provider"),
        sa.CheckConstraint(environment, name="environment"),
    )
    op.create_table(
        "payment_provider_credentials",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        _jsonb("hints"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "provider", "environment"),
        sa.CheckConstraint(environment, name="environment"),
        sa.CheckConstraint("ciphertext LIKE 'v1.%'", name="sealed"),
    )
    op.create_table(
        "payments",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("captured_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fee_amount", sa.BigInteger),
        sa.Column("capture_mode", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32)),
        sa.Column("provider_payment_id", sa.String(128)),
        sa.Column("provider_idempotency_key", sa.String(64)),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("description", sa.Text),
        _jsonb("customer"),
        sa.Column("country", sa.String(2)),
        sa.Column("method", sa.String(32)),
        sa.Column("return_url", sa.Text),
        sa.Column("next_action_url", sa.Text),
        sa.Column("payment_method", sa.String(128)),
        _jsonb("metadata"),
        sa.Column("subscription_id", sa.String(40)),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("failure_message", sa.Text),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "provider", "provider_payment_id"),
        sa.CheckConstraint(_in("status", PAYMENT_STATUSES), name="status"),
        sa.CheckConstraint(environment, name="environment"),
        sa.CheckConstraint(_in("capture_mode", ("automatic", "manual")), name="capture_mode"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "captured_amount >= 0 AND captured_amount <= amount", name="captured_within_amount"
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= captured_amount",
            name="refunded_within_captured",
        ),
    )
    op.create_index("ix_payments_status_updated", "payments", ["status", "updated_at"])
    op.create_index(
        "ix_payments_tenant_subscription",
        "payments",
        ["tenant_id", "subscription_id"],
        postgresql_where=sa.text("subscription_id IS NOT NULL"),
    )
    op.create_table(
        "payment_attempts",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "payment_id", "seq"),
        sa.CheckConstraint(
            _in("outcome", ("accepted", "unavailable", "unsupported", "declined", "timeout")),
            name="outcome",
        ),
    )
    op.create_table(
        "payment_refunds",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_refund_id", sa.String(128)),
        sa.Column("provider_idempotency_key", sa.String(64)),
        sa.Column("failure_message", sa.Text),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "provider", "provider_refund_id"),
        sa.CheckConstraint(_in("status", ("pending", "succeeded", "failed")), name="status"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    op.create_index("ix_payment_refunds_payment", "payment_refunds", ["tenant_id", "payment_id"])
    op.create_table(
        "payment_subscriptions",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_subscription_id", sa.String(128)),
        sa.Column("plan_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("interval", sa.String(8)),
        sa.Column("interval_count", sa.Integer),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("total_count", sa.Integer),
        _jsonb("customer"),
        _jsonb("metadata"),
        sa.Column("next_action_url", sa.Text),
        sa.Column("current_period_end", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "provider", "provider_subscription_id"),
        sa.CheckConstraint(_in("status", SUBSCRIPTION_STATUSES), name="status"),
        sa.CheckConstraint(environment, name="environment"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_table(
        "payment_routing",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        _jsonb("rules", "'[]'::jsonb"),
        _jsonb("default_providers", "'[]'::jsonb"),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "payment_inbound_events",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "provider", "event_id"),
    )
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)
    # Attempts and applied provider events are a record of what happened: append-only.
    op.execute("REVOKE UPDATE, DELETE ON payment_attempts FROM moneyrail_app")
    op.execute("REVOKE UPDATE, DELETE ON payment_inbound_events FROM moneyrail_app")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
