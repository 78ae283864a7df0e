"""payments: record before you call — attempts in flight, with their provider key and
reference

An attempt is written, committed, before its provider call (`in_flight`), and is resolved
afterwards by the request or by the recovery job (`not_found`: the provider never made it).
The application may change an attempt's outcome and error code, nothing else: attempts
stay a record of what happened.

Revision ID: 20261201_payments_in_flight
Revises: 20261123_payments
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_payments_in_flight"
down_revision: str | Sequence[str] | None = "20261123_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTCOMES = ("accepted", "unavailable", "unsupported", "declined", "timeout")
NEW_OUTCOMES = (*OLD_OUTCOMES, "in_flight", "not_found")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("payment_attempts", sa.Column("provider_idempotency_key", sa.String(64)))
    op.add_column("payment_attempts", sa.Column("reference", sa.String(64)))
    op.drop_constraint(op.f("ck_payment_attempts_outcome"), "payment_attempts", type_="check")
    op.create_check_constraint("outcome", "payment_attempts", _in("outcome", NEW_OUTCOMES))
    op.create_index(
        "ix_payment_attempts_in_flight",
        "payment_attempts",
        ["created_at"],
        postgresql_where=sa.text("outcome = 'in_flight'"),
    )
    op.execute("GRANT UPDATE (outcome, error_code) ON payment_attempts TO moneyrail_app")


def downgrade() -> None:
    op.execute("REVOKE UPDATE ON payment_attempts FROM moneyrail_app")
    op.drop_index("ix_payment_attempts_in_flight", table_name="payment_attempts")
    op.execute("UPDATE payment_attempts SET outcome = 'timeout' WHERE outcome = 'in_flight'")
    op.execute("UPDATE payment_attempts SET outcome = 'declined' WHERE outcome = 'not_found'")
    op.drop_constraint(op.f("ck_payment_attempts_outcome"), "payment_attempts", type_="check")
    op.create_check_constraint("outcome", "payment_attempts", _in("outcome", OLD_OUTCOMES))
    op.drop_column("payment_attempts", "reference")
    op.drop_column("payment_attempts", "provider_idempotency_key")
