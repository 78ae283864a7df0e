"""payments: record before you call for subscription changes

A cancel, pause or resume of a subscription is written, committed, before its provider call
(`payment_subscription_changes`, status `in_flight`, with the provider idempotency key it
carries and the client's key), and is resolved afterwards by the request or by the recovery
job (`succeeded`; `not_found`: the provider never made the change; `failed`: the provider
refused).

Revision ID: 20261216_payments_sub_changes
Revises: 20261215_payments_capture_refund
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moneyrail.core.db import rls_statements

revision: str = "20261216_payments_sub_changes"
down_revision: str | Sequence[str] | None = "20261215_payments_capture_refund"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("cancel", "pause", "resume")
STATUSES = ("in_flight", "succeeded", "failed", "not_found")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "payment_subscription_changes",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_idempotency_key", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("error_code", sa.String(64)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(_in("action", ACTIONS), name="action"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
    )
    op.create_index(
        "ix_payment_subscription_changes_sub",
        "payment_subscription_changes",
        ["tenant_id", "subscription_id"],
    )
    op.create_index(
        "ix_payment_subscription_changes_in_flight",
        "payment_subscription_changes",
        ["created_at"],
        postgresql_where=sa.text("status = 'in_flight'"),
    )
    for statement in rls_statements("payment_subscription_changes"):
        op.execute(statement)
    op.execute("REVOKE DELETE ON payment_subscription_changes FROM moneyrail_app")


def downgrade() -> None:
    op.drop_table("payment_subscription_changes")
