"""ledger: per-tenant ledger settings (precious metals)

Revision ID: 20261202_ledger_settings
Revises: 20261123_ledger_set_checks
Create Date: 2026-12-02

One row per tenant that has changed a ledger option; no row means every option is off.
`precious_metals_enabled` lets the tenant open ledger accounts in XAU, XAG, XPT and XPD.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moneyrail.core.db import rls_statements

revision: str = "20261202_ledger_settings"
down_revision: str | Sequence[str] | None = "20261123_ledger_set_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "moneyrail_app"


def upgrade() -> None:
    op.create_table(
        "ledger_settings",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("precious_metals_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_ledger_settings_tenant"),
    )
    for statement in rls_statements("ledger_settings"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON ledger_settings TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("ledger_settings")
