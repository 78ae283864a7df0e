"""payments: record before you call for subscription creation

A subscription create (at a provider that can look it up by our reference) is written,
committed, before its provider calls as a `create` change in flight
(`payment_subscription_changes.action`), resolved afterwards by the request or by the
recovery job.

Revision ID: 20261217_payments_sub_create
Revises: 20261216_payments_sub_changes
Create Date: 2026-12-17
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261217_payments_sub_create"
down_revision: str | Sequence[str] | None = "20261216_payments_sub_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "payment_subscription_changes"
CONSTRAINT = "ck_payment_subscription_changes_action"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {CONSTRAINT}"
        " CHECK (action IN ('create', 'cancel', 'pause', 'resume'))"
    )


def downgrade() -> None:
    # NOT VALID: `create` rows already written stay; new ones are refused again.
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {CONSTRAINT}"
        " CHECK (action IN ('cancel', 'pause', 'resume')) NOT VALID"
    )
