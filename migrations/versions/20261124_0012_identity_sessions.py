"""identity: a credential version per user, failed sign-ins per (account, client), and the
JWT session check folded into the tenant binding

Revision ID: 20261124_identity_sessions
Revises: 20261123_identity_key_lookup_fn
Create Date: 2026-11-24

`users.session_version` grows on every role change, disabling, enabling and password change;
access tokens carry the version they were issued under and stop working when it moves on.
`user_session_bind` reads the version, the status, the current role and whether the token's session (refresh
token family) is still live, and binds the transaction to the token's tenant: the one
statement a JWT request already ran to bind its tenant. `api_key_authenticate` no longer
finds a key minted by a user who is not active. `login_failures` counts failed sign-ins per
account and client address, so guesses from one address lock out only that address.
A session whose refresh tokens were revoked by a role change keeps its access tokens, narrowed
to the new role, until they expire; refreshing it needs a new sign-in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moneyrail.core.db import rls_statements

revision: str = "20261124_identity_sessions"
down_revision: str | Sequence[str] | None = "20261123_identity_key_lookup_fn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("session_version", sa.Integer, nullable=False, server_default="1")
    )
    op.create_index("ix_api_keys_created_by", "api_keys", ["created_by"])
    op.create_table(
        "login_failures",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), primary_key=True),
        sa.Column("client_key", sa.String(64), primary_key=True),
        sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("failed_count >= 0", name="failed_count_non_negative"),
    )
    for statement in rls_statements("login_failures"):
        op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION user_session_bind(p_user_id text, p_tenant_id text, p_session_id text)
        RETURNS TABLE (session_version integer, status text, role text, session_live boolean)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM set_config('app.bypass_rls', 'on', true);
            RETURN QUERY
                SELECT u.session_version, u.status::text, u.role::text,
                       (p_session_id IS NULL OR EXISTS (
                            SELECT 1 FROM refresh_tokens r
                            WHERE r.family_id = p_session_id
                              AND (r.revoked_at IS NULL OR r.revoked_reason = 'role_changed')))
                FROM users u WHERE u.id = p_user_id;
            PERFORM set_config('app.bypass_rls', 'off', true);
            PERFORM set_config('app.tenant_id', p_tenant_id, true);
        END
        $$
        """
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION api_key_authenticate(p_lookup text)
        RETURNS SETOF api_keys LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            found_key api_keys;
            creator_inactive boolean;
        BEGIN
            PERFORM set_config('app.bypass_rls', 'on', true);
            SELECT * INTO found_key FROM api_keys WHERE lookup = p_lookup;
            SELECT EXISTS (
                SELECT 1 FROM users u WHERE u.id = found_key.created_by AND u.status <> 'active'
            ) INTO creator_inactive;
            PERFORM set_config('app.bypass_rls', 'off', true);
            IF found_key.id IS NULL OR creator_inactive THEN
                RETURN;
            END IF;
            PERFORM set_config('app.tenant_id', found_key.tenant_id, true);
            RETURN NEXT found_key;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION api_key_authenticate(p_lookup text)
        RETURNS SETOF api_keys LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            found_key api_keys;
        BEGIN
            PERFORM set_config('app.bypass_rls', 'on', true);
            SELECT * INTO found_key FROM api_keys WHERE lookup = p_lookup;
            PERFORM set_config('app.bypass_rls', 'off', true);
            IF found_key.id IS NULL THEN
                RETURN;
            END IF;
            PERFORM set_config('app.tenant_id', found_key.tenant_id, true);
            RETURN NEXT found_key;
        END
        $$
        """
    )
    op.execute("DROP FUNCTION user_session_bind(text, text, text)")
    op.drop_table("login_failures")
    op.drop_index("ix_api_keys_created_by", "api_keys")
    op.drop_column("users", "session_version")
