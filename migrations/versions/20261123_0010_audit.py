"""audit: `audit_append`, one statement appending a transaction's rows to a tenant's chain

Revision ID: 20261123_audit_append
Revises: 20261123_audit
Create Date: 2026-11-23

The function locks the tenant's chain head (creating it at genesis), links each row to the
previous one — `sha256(head || prev_hash || mid || seq || tail)`, the pieces being the row's
canonical text around the two values only the head knows (`audit.chain.canonical_parts`) —
inserts the rows, moves the head and restores the caller's tenant binding. It runs with the
caller's rights, so row-level security and the append-only grants apply as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_audit_append"
down_revision: str | Sequence[str] | None = "20261123_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION audit_append(p_tenant text, p_rows jsonb, p_now timestamptz)
        RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            previous text := current_setting('app.tenant_id', true);
            head_seq bigint;
            head_hash text;
            next_hash text;
            r jsonb;
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant, true);
            INSERT INTO audit_chain_heads AS h (tenant_id, seq, hash)
            VALUES (p_tenant, 0, repeat('0', 64))
            ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id
            RETURNING h.seq, h.hash INTO head_seq, head_hash;
            FOR r IN
                SELECT e.value FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS e(value, n)
                ORDER BY e.n
            LOOP
                head_seq := head_seq + 1;
                next_hash := encode(sha256(convert_to(
                    (r->>'head') || head_hash || (r->>'mid') || head_seq::text || (r->>'tail'),
                    'UTF8')), 'hex');
                INSERT INTO audit_logs (
                    tenant_id, seq, id, created_at, actor_type, actor_id, action, target_type,
                    target_id, ip, user_agent, request_id, before, after, prev_hash, hash
                ) VALUES (
                    p_tenant, head_seq, r->>'id', (r->>'created_at')::timestamptz,
                    r->>'actor_type', r->>'actor_id', r->>'action', r->>'target_type',
                    r->>'target_id', r->>'ip', r->>'user_agent', r->>'request_id',
                    NULLIF(r->'before', 'null'::jsonb), NULLIF(r->'after', 'null'::jsonb),
                    head_hash, next_hash
                );
                head_hash := next_hash;
            END LOOP;
            UPDATE audit_chain_heads SET seq = head_seq, hash = head_hash, updated_at = p_now
            WHERE tenant_id = p_tenant;
            PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
            RETURN head_seq;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS audit_append(text, jsonb, timestamptz)")
