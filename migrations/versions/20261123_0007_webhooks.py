"""webhooks: tenant endpoints, deliveries, attempts and scheduled-job runs

Revision ID: 20261123_webhooks
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from moneyrail.core.db import rls_statements

revision: str = "20261123_webhooks"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("webhooks",)
depends_on: str | Sequence[str] | None = ("20261123_core", "20261123_identity")


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column(
            "event_types", postgresql.ARRAY(sa.String(100)), nullable=False, server_default="{}"
        ),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("previous_secret_enc", sa.Text),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts_allowed", sa.Integer, nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_status_code", sa.SmallInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "tenant_id",
            "endpoint_id",
            "event_id",
            name="uq_webhook_deliveries_tenant_id_endpoint_id_event_id",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'delivered', 'failed')", name="status"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_leased",
        "webhook_deliveries",
        ["locked_until"],
        postgresql_where=sa.text("status = 'processing'"),
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_created", "webhook_deliveries", ["tenant_id", "id"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker_id", sa.String(100)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status_code", sa.SmallInteger),
        sa.Column("latency_ms", sa.Float),
        sa.Column("response_body", sa.Text),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("tenant_id", "delivery_id", "attempt", name="pk_webhook_attempts"),
    )
    for table in ("webhook_endpoints", "webhook_deliveries", "webhook_attempts"):
        for statement in rls_statements(table):
            op.execute(statement)

    # Platform table (no tenant data): when each scheduled job last ran.
    op.create_table(
        "worker_job_runs",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )
    # Events whose worker died keep status 'processing' until their lease runs out.
    op.create_index(
        "ix_outbox_events_leased",
        "outbox_events",
        ["locked_until"],
        postgresql_where=sa.text("status = 'processing'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_events_leased", table_name="outbox_events")
    op.drop_table("worker_job_runs")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
