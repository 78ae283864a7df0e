"""ledger: accounts with cached balances, append-only entries and postings, open holds

Revision ID: 20261123_ledger
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from moneyrail.core.db import rls_statements

revision: str = "20261123_ledger"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("ledger",)
depends_on: str | Sequence[str] | None = ("20261123_core", "20261123_identity")

APP_ROLE = "moneyrail_app"
CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"
AVAILABLE_SQL = (
    "CASE WHEN debit_normal THEN posted_debits - posted_credits - pending_credits "
    "ELSE posted_credits - posted_debits - pending_debits END"
)
APPEND_ONLY = ("ledger_entries", "ledger_postings")


def _created_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("debit_normal", sa.Boolean, nullable=False),
        sa.Column("limit_type", sa.String(16), nullable=False, server_default="none"),
        sa.Column("limit_floor", sa.BigInteger),
        sa.Column("posted_debits", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("posted_credits", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pending_debits", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pending_credits", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column(
            "metadata", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        _created_at(),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_ledger_accounts_tenant"),
        # Secondary keys lead with their own column, not tenant_id: on an id lookup the
        # planner must never prefer them to the primary key (it did, on fresh statistics,
        # scanning a tenant's accounts for every posting).
        sa.UniqueConstraint("code", "tenant_id", name="uq_ledger_accounts_code_tenant"),
        sa.CheckConstraint(CURRENCY_CHECK, name="currency"),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name="kind"
        ),
        sa.CheckConstraint("debit_normal = (kind IN ('asset', 'expense'))", name="normal_side"),
        sa.CheckConstraint(
            "(limit_type = 'none' AND limit_floor IS NULL)"
            " OR (limit_type = 'non_negative' AND limit_floor = 0)"
            " OR (limit_type = 'overdraft' AND limit_floor <= 0)",
            name="limit",
        ),
        sa.CheckConstraint(
            "posted_debits >= 0 AND posted_credits >= 0"
            " AND pending_debits >= 0 AND pending_credits >= 0",
            name="counters_non_negative",
        ),
    )

    # Counters change on every posting: free space in each page lets those updates stay
    # heap-only (HOT), so the primary key does not fill with dead versions.
    op.execute("ALTER TABLE ledger_accounts SET (fillfactor = 70)")

    op.create_table(
        "ledger_entries",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("debit_account_id", sa.String(40)),
        sa.Column("credit_account_id", sa.String(40)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("pending_id", sa.String(80)),
        sa.Column("reverses_id", sa.String(80)),
        sa.Column("timeout_seconds", sa.Integer),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("description", sa.Text),
        sa.Column(
            "metadata", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("legs", sa.SmallInteger, nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('transfer', 'entry', 'post_pending', 'void_pending', 'expire_pending',"
            " 'reversal')",
            name="kind",
        ),
        sa.CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        sa.CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency"),
        sa.CheckConstraint(
            "(debit_account_id IS NULL AND credit_account_id IS NULL)"
            " OR debit_account_id <> credit_account_id",
            name="two_accounts",
        ),
        sa.CheckConstraint("NOT pending OR kind = 'transfer'", name="pending_transfer"),
        sa.CheckConstraint(
            "(pending_id IS NOT NULL) = (kind IN ('post_pending', 'void_pending',"
            " 'expire_pending'))",
            name="resolution",
        ),
        sa.CheckConstraint("(reverses_id IS NOT NULL) = (kind = 'reversal')", name="reversal"),
        sa.CheckConstraint("legs >= 1", name="legs"),
        sa.CheckConstraint("timeout_seconds IS NULL OR timeout_seconds > 0", name="timeout"),
    )
    op.create_index(
        "uq_ledger_entries_pending_id",
        "ledger_entries",
        ["tenant_id", "pending_id"],
        unique=True,
        postgresql_where=sa.text("pending_id IS NOT NULL"),
    )
    op.create_index(
        "uq_ledger_entries_reverses_id",
        "ledger_entries",
        ["tenant_id", "reverses_id"],
        unique=True,
        postgresql_where=sa.text("reverses_id IS NOT NULL"),
    )

    op.create_table(
        "ledger_postings",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("entry_id", sa.String(80), primary_key=True),
        sa.Column("leg", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("effect", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(CURRENCY_CHECK, name="currency"),
        sa.CheckConstraint("direction IN ('debit', 'credit')", name="direction"),
        sa.CheckConstraint("effect IN ('posted', 'pending', 'release')", name="effect"),
        sa.CheckConstraint("leg >= 0", name="leg"),
    )
    # No foreign keys on postings: checking two references per posting row would be the
    # largest cost of a batch. The statement-level trigger below checks the same references
    # (and more) once per statement, set-based.
    op.create_index(
        "ix_ledger_postings_account_seq", "ledger_postings", ["account_id", "tenant_id", "seq"]
    )

    op.create_table(
        "ledger_holds",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("transfer_id", sa.String(80), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ledger_holds_expires_at", "ledger_holds", ["expires_at"])

    # The last wall behind the service's conditional update: no change may take an account's
    # available balance lower and below its limit. A trigger, not a CHECK: PostgreSQL checks
    # constraints on the row computed from the statement's snapshot before it re-reads a
    # concurrently updated row, so a CHECK would refuse valid updates under contention;
    # AFTER ROW triggers see the row actually written. The WHEN clause keeps it free unless
    # violated.
    op.execute(
        """
        CREATE FUNCTION ledger_refuse_overdraw() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger account % would go below its balance limit', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_account_balance_limit';
        END $$
        """
    )
    new_available = AVAILABLE_SQL.replace("posted_", "NEW.posted_").replace(
        "pending_", "NEW.pending_"
    )
    old_available = AVAILABLE_SQL.replace("posted_", "OLD.posted_").replace(
        "pending_", "OLD.pending_"
    )
    new_available = new_available.replace("debit_normal", "NEW.debit_normal")
    old_available = old_available.replace("debit_normal", "OLD.debit_normal")
    op.execute(
        f"""
        CREATE TRIGGER ledger_account_balance_limit
        AFTER UPDATE ON ledger_accounts
        FOR EACH ROW
        WHEN (NEW.limit_floor IS NOT NULL
              AND ({new_available}) < NEW.limit_floor
              AND ({new_available}) < ({old_available}))
        EXECUTE FUNCTION ledger_refuse_overdraw()
        """
    )

    # An entry must balance per currency and per effect (posted, pending, release) and have
    # exactly `legs` postings. Checked at commit, once per entry, when all postings exist.
    # SECURITY DEFINER so row-level security cannot hide postings from the check.
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
    # Every new posting refers to an entry and an account of its tenant, in the account's
    # currency, with `leg < legs` of its entry. Since the commit check above finds all legs
    # 0..legs-1 present, no later transaction can add a posting to a committed entry (its
    # leg would collide with the primary key). Written as one primary-key lookup per new
    # posting (correlated NOT EXISTS, index scans forced): the transition table has no
    # statistics, and a join the planner might pick would scan tables that grow with the
    # ledger, with the plan cached for the connection's life.
    op.execute(
        """
        CREATE FUNCTION ledger_check_new_postings() RETURNS trigger
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
                RAISE EXCEPTION 'a posting of ledger entry % refers to a missing entry or '
                    'account, to an account in another currency, or to a leg past the '
                    'entry''s legs', bad
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_posting_refs';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_posting_refs
        AFTER INSERT ON ledger_postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_new_postings()
        """
    )

    # Entries and postings are history: no UPDATE, DELETE or TRUNCATE, whoever asks.
    op.execute(
        """
        CREATE FUNCTION ledger_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )

    for table in ("ledger_accounts", "ledger_entries", "ledger_postings", "ledger_holds"):
        for statement in rls_statements(table):
            op.execute(statement)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {APP_ROLE}")
    # Accounts are never deleted: postings refer to them.
    op.execute(f"REVOKE DELETE, TRUNCATE ON ledger_accounts FROM {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE ledger_postings_seq_seq TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("ledger_holds")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
    op.execute("DROP FUNCTION IF EXISTS ledger_check_entry_balanced()")
    op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    op.execute("DROP FUNCTION IF EXISTS ledger_refuse_overdraw()")
    op.execute("DROP FUNCTION IF EXISTS ledger_check_new_postings()")
