"""messaging: templates, messages and provider status events

Revision ID: 20261123_messaging
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from moneyrail.core.db import rls_statements

revision: str = "20261123_messaging"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("messaging",)
depends_on: str | Sequence[str] | None = ("20261123_core", "20261123_identity")


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column(
            "variables", postgresql.ARRAY(sa.String(100)), nullable=False, server_default="{}"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_message_templates"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_message_templates_tenant_id_name"),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="channel"),
    )
    op.create_table(
        "messages",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("to", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(320)),
        sa.Column("subject", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column("template_id", sa.String(40)),
        sa.Column("provider", sa.String(16)),
        sa.Column("provider_message_id", sa.String(100)),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_messages"),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        sa.CheckConstraint("environment IN ('test', 'live')", name="environment"),
    )
    op.create_index("ix_messages_provider_ref", "messages", ["provider", "provider_message_id"])
    op.create_index("ix_messages_tenant_created", "messages", ["tenant_id", "id"])
    op.create_table(
        "messaging_provider_events",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(40)),
        sa.Column("message_id", sa.String(40)),
        sa.Column("provider_message_id", sa.String(100)),
        sa.Column("status", sa.String(32)),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_messaging_provider_events"),
    )
    for table in ("message_templates", "messages", "messaging_provider_events"):
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("messaging_provider_events")
    op.drop_table("messages")
    op.drop_table("message_templates")
