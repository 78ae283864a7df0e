"""core: `idempotency_claim`, the Idempotency-Key lock and lookup in one round trip

Revision ID: 20261123_core_idempotency_claim
Revises: 20261123_core
Create Date: 2026-11-23

Takes the transaction-scoped advisory lock on (tenant, key) and, only once it holds it, reads
the key's record. The two are separate statements inside the function: under READ COMMITTED
each statement of a volatile function takes a new snapshot, so the lookup sees a record
committed by the request that held the lock a moment before. It runs with the caller's rights
(row-level security applies).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_core_idempotency_claim"
down_revision: str | Sequence[str] | None = "20261123_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION idempotency_claim(p_tenant text, p_key text)
        RETURNS TABLE (
            locked boolean, request_hash text, response_status integer,
            response_body text, expires_at timestamptz
        ) LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF NOT pg_try_advisory_xact_lock(
                hashtextextended('idem:' || p_tenant || ':' || p_key, 0)
            ) THEN
                RETURN QUERY SELECT false, NULL::text, NULL::integer, NULL::text,
                                    NULL::timestamptz;
                RETURN;
            END IF;
            RETURN QUERY
                SELECT true, k.request_hash::text, k.response_status::integer,
                       k.response_body::text, k.expires_at
                FROM idempotency_keys k
                WHERE k.tenant_id = p_tenant AND k.key = p_key;
            IF NOT FOUND THEN
                RETURN QUERY SELECT true, NULL::text, NULL::integer, NULL::text,
                                    NULL::timestamptz;
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION idempotency_claim(text, text)")
