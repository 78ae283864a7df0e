"""ledger: set-based balance check at commit, reference check per distinct entry and account

Revision ID: 20261123_ledger_set_checks
Revises: 20261123_ledger
Create Date: 2026-11-23

The per-entry deferred balance check ran one plpgsql call and one query per entry at
commit (1,000 for a 1,000-transfer batch, all under the batch's account locks). Now each
statement inserting entries queues one row listing them, and a deferred trigger on that
queue checks the whole statement's entries with one query at commit: same rule (per
currency and effect the postings sum to zero, exactly `legs` postings), same constraint
name for `SET CONSTRAINTS ledger_entry_balanced IMMEDIATE`.

The posting reference check probes each distinct entry (with its highest new leg) and each
distinct (account, currency) once, rather than both for every posting row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_ledger_set_checks"
down_revision: str | Sequence[str] | None = "20261123_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "moneyrail_app"

# Adjacent SQL string literals concatenate only across a line break.
_REFS_MESSAGE = (
    "'a posting of ledger entry % refers to a missing entry or '\n"
    "                    'account, to an account in another currency, or to a leg past the '\n"
    "                    'entry''s legs'"
)


def upgrade() -> None:
    op.execute("DROP TRIGGER ledger_entry_balanced ON ledger_entries")
    op.execute("DROP FUNCTION ledger_check_entry_balanced()")

    # Not a tenant table: written and read only by the trigger functions below (SECURITY
    # DEFINER), one row per entries statement, deleted by its own check at commit.
    op.execute(
        """
        CREATE UNLOGGED TABLE ledger_entry_checks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant_ids text[] NOT NULL,
            entry_ids text[] NOT NULL,
            legs smallint[] NOT NULL
        )
        """
    )
    op.execute(f"REVOKE ALL ON ledger_entry_checks FROM PUBLIC, {APP_ROLE}")

    op.execute(
        """
        CREATE FUNCTION ledger_queue_entry_check() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN
            INSERT INTO ledger_entry_checks (tenant_ids, entry_ids, legs)
            SELECT array_agg(tenant_id), array_agg(id), array_agg(legs)
            FROM new_entries
            HAVING count(*) > 0;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_entry_check_queued
        AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS new_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_queue_entry_check()
        """
    )
    # One primary-key range probe of the postings per entry (index scans forced: the
    # unnest has no statistics and the plan is cached for the connection's life).
    op.execute(
        """
        CREATE FUNCTION ledger_check_entries_balanced() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
        SET enable_seqscan = off AS $$
        DECLARE
            bad text;
        BEGIN
            SELECT n.id INTO bad
            FROM unnest(NEW.tenant_ids, NEW.entry_ids, NEW.legs) AS n(tenant_id, id, legs)
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(s.k), 0) AS k,
                       coalesce(bool_or(s.total <> 0), false) AS unbalanced
                FROM (
                    SELECT count(*) AS k,
                           sum(CASE WHEN p.direction = 'debit' THEN p.amount
                                    ELSE -p.amount END) AS total
                    FROM ledger_postings p
                    WHERE p.tenant_id = n.tenant_id AND p.entry_id = n.id
                    GROUP BY p.currency, p.effect
                ) s
            ) c
            WHERE c.unbalanced OR c.k <> n.legs
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'ledger entry % is unbalanced or incomplete', bad
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
            END IF;
            DELETE FROM ledger_entry_checks WHERE id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER ledger_entry_balanced
        AFTER INSERT ON ledger_entry_checks
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_entries_balanced()
        """
    )

    # Same guarantees as before (entry of the tenant exists and has the leg, account of the
    # tenant exists in the posting's currency), probed once per distinct entry and account.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
        SET enable_seqscan = off AS $$
        DECLARE
            bad text;
        BEGIN
            SELECT r.entry_id INTO bad
            FROM (
                SELECT tenant_id, entry_id, max(leg) AS leg
                FROM new_postings GROUP BY tenant_id, entry_id
            ) r
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_entries e
                WHERE e.tenant_id = r.tenant_id AND e.id = r.entry_id AND r.leg < e.legs
            )
            LIMIT 1;
            IF NOT FOUND THEN
                SELECT r.entry_id INTO bad
                FROM (
                    SELECT tenant_id, account_id, currency, min(entry_id) AS entry_id
                    FROM new_postings GROUP BY tenant_id, account_id, currency
                ) r
                WHERE NOT EXISTS (
                    SELECT 1 FROM ledger_accounts a
                    WHERE a.tenant_id = r.tenant_id AND a.id = r.account_id
                      AND a.currency = r.currency
                )
                LIMIT 1;
            END IF;
            IF FOUND THEN
                RAISE EXCEPTION {_REFS_MESSAGE}, bad
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_refs';
            END IF;
            RETURN NULL;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
        SET enable_seqscan = off AS $$
        DECLARE
            bad text;
        BEGIN
            SELECT n.entry_id INTO bad
            FROM new_postings n
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_entries e
                WHERE e.tenant_id = n.tenant_id AND e.id = n.entry_id AND n.leg < e.legs
            ) OR NOT EXISTS (
                SELECT 1 FROM ledger_accounts a
                WHERE a.tenant_id = n.tenant_id AND a.id = n.account_id
                  AND a.currency = n.currency
            )
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION {_REFS_MESSAGE}, bad
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_refs';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute("DROP TRIGGER ledger_entry_check_queued ON ledger_entries")
    op.execute("DROP TABLE ledger_entry_checks")
    op.execute("DROP FUNCTION ledger_check_entries_balanced()")
    op.execute("DROP FUNCTION ledger_queue_entry_check()")
    op.execute(
        """
        CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        DECLARE
            postings integer;
            unbalanced boolean;
        BEGIN
            SELECT coalesce(sum(n), 0), coalesce(bool_or(total <> 0), false)
            INTO postings, unbalanced
            FROM (
                SELECT count(*) AS n,
                       sum(CASE WHEN direction = 'debit' THEN amount ELSE -amount END) AS total
                FROM ledger_postings
                WHERE tenant_id = NEW.tenant_id AND entry_id = NEW.id
                GROUP BY currency, effect
            ) sums;
            IF unbalanced OR postings <> NEW.legs THEN
                RAISE EXCEPTION 'ledger entry % is unbalanced or incomplete', NEW.id
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER ledger_entry_balanced
        AFTER INSERT ON ledger_entries
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced()
        """
    )
