"""payments: record before you call for captures and refunds

A capture is written, committed, before its provider call (`payment_captures`, status
`in_flight`, with the provider idempotency key it carries and the client's key), and is
resolved afterwards by the request or by the recovery job (`succeeded`; `not_found`: the
provider never captured; `failed`: the provider refused). A refund is written the same way as
a `payment_refunds` row `in_flight`, carrying the client's key; its amount stays reserved
while it is in flight.

Revision ID: 20261215_payments_capture_refund
Revises: 20261201_payments_in_flight
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moneyrail.core.db import rls_statements

revision: str = "20261215_payments_capture_refund"
down_revision: str | Sequence[str] | None = "20261201_payments_in_flight"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAPTURE_STATUSES = ("in_flight", "succeeded", "failed", "not_found")
OLD_REFUND_STATUSES = ("pending", "succeeded", "failed")
NEW_REFUND_STATUSES = (*OLD_REFUND_STATUSES, "in_flight")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "payment_captures",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger),
        sa.Column("currency", sa.String(3), nullable=False),
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
        sa.CheckConstraint(_in("status", CAPTURE_STATUSES), name="status"),
        sa.CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
    )
    op.create_index("ix_payment_captures_payment", "payment_captures", ["tenant_id", "payment_id"])
    op.create_index(
        "ix_payment_captures_in_flight",
        "payment_captures",
        ["created_at"],
        postgresql_where=sa.text("status = 'in_flight'"),
    )
    for statement in rls_statements("payment_captures"):
        op.execute(statement)
    op.execute("REVOKE DELETE ON payment_captures FROM moneyrail_app")

    op.add_column("payment_refunds", sa.Column("idempotency_key", sa.String(255)))
    op.drop_constraint(op.f("ck_payment_refunds_status"), "payment_refunds", type_="check")
    op.create_check_constraint("status", "payment_refunds", _in("status", NEW_REFUND_STATUSES))
    op.create_index(
        "ix_payment_refunds_in_flight",
        "payment_refunds",
        ["created_at"],
        postgresql_where=sa.text("status = 'in_flight'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payment_refunds_in_flight", table_name="payment_refunds")
    op.execute("UPDATE payment_refunds SET status = 'pending' WHERE status = 'in_flight'")
    op.drop_constraint(op.f("ck_payment_refunds_status"), "payment_refunds", type_="check")
    op.create_check_constraint("status", "payment_refunds", _in("status", OLD_REFUND_STATUSES))
    op.drop_column("payment_refunds", "idempotency_key")
    op.drop_table("payment_captures")
