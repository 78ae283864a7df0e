"""identity: `api_key_authenticate`, the API-key lookup and tenant binding in one round trip

Revision ID: 20261123_identity_key_lookup_fn
Revises: 20261123_identity_auth
Create Date: 2026-11-23

The lookup crosses tenants (the tenant is not known before the key is found), so the function
turns the row-level-security bypass on for that one statement and off again before anything
else runs, then binds the transaction to the key's tenant. It runs with the caller's rights;
an unknown lookup returns no row and leaves the transaction unbound.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_identity_key_lookup_fn"
down_revision: str | Sequence[str] | None = "20261123_identity_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION api_key_authenticate(p_lookup text)
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


def downgrade() -> None:
    op.execute("DROP FUNCTION api_key_authenticate(text)")
