"""identity: tenants, users, API keys

Revision ID: 20261123_identity
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from moneyrail.core.db import rls_statements

revision: str = "20261123_identity"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = ("20261123_core",)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="status"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id")),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("name", sa.String(200)),
        sa.Column("mobile", sa.String(32)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_platform_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("failed_login_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("role IN ('viewer', 'operator', 'admin', 'owner')", name="role"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="status"),
        sa.CheckConstraint("tenant_id IS NOT NULL OR is_platform_admin", name="tenant_or_platform"),
    )
    op.execute("CREATE UNIQUE INDEX uq_users_email ON users (lower(email))")
    op.create_index("ix_users_tenant_id", "users", ["tenant_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lookup", sa.String(16), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("environment", sa.String(8), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("client_id", sa.String(40)),
        sa.Column("created_by", sa.String(40)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("environment IN ('test', 'live')", name="environment"),
        sa.CheckConstraint("role IN ('viewer', 'operator', 'admin', 'owner')", name="role"),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    # Platform administrators have no tenant; the policy lets the bypass scope see them.
    for table in ("users", "api_keys"):
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("tenants")
