"""banking: branches, customers, bank accounts, journal, loans, interest

Revision ID: 20261123_banking
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from moneyrail.core.db import rls_statements

revision: str = "20261123_banking"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("banking",)
depends_on: str | Sequence[str] | None = ("20261123_core", "20261123_identity", "20261123_ledger")

APP_ROLE = "moneyrail_app"
RATE = sa.Numeric(7, 4)
ACCRUAL = sa.Numeric(24, 6)
TABLES = (
    "bank_branches",
    "bank_customers",
    "bank_accounts",
    "bank_account_numbers",
    "bank_transactions",
    "bank_loans",
    "bank_loan_installments",
    "bank_loan_repayments",
    "bank_settings",
    "bank_interest_accruals",
    "bank_interest_credits",
)
# Rows that record what happened are never changed or removed by the application.
APPEND_ONLY = (
    "bank_transactions",
    "bank_loan_repayments",
    "bank_interest_accruals",
    "bank_interest_credits",
)


def _tenant() -> sa.Column[Any]:
    return sa.Column("tenant_id", sa.String(40), primary_key=True)


def _created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def _updated_at() -> sa.Column[Any]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "bank_branches",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ifsc", sa.String(11)),
        sa.Column("address", sa.String(500)),
        sa.Column("city", sa.String(100)),
        sa.Column("state", sa.String(100)),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "code"),
    )
    op.create_table(
        "bank_customers",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("gender", sa.String(16)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column("address_line1", sa.String(200)),
        sa.Column("address_line2", sa.String(200)),
        sa.Column("city", sa.String(100)),
        sa.Column("state", sa.String(100)),
        sa.Column("postal_code", sa.String(20)),
        sa.Column("country", sa.String(2), nullable=False, server_default="IN"),
        sa.Column("kyc_status", sa.String(16), nullable=False, server_default="PENDING"),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.String(500)),
        sa.Column(
            "search_text",
            sa.Text,
            sa.Computed(
                "lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' "
                "|| coalesce(phone, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(40)),
        _created_at(),
        _updated_at(),
        sa.CheckConstraint("gender IN ('MALE', 'FEMALE', 'OTHER')", name="gender"),
        sa.CheckConstraint("kyc_status IN ('PENDING', 'VERIFIED', 'REJECTED')", name="kyc_status"),
        sa.CheckConstraint("status IN ('active', 'inactive', 'blocked')", name="status"),
    )
    op.execute(
        "CREATE INDEX ix_bank_customers_search ON bank_customers "
        "USING gin (search_text gin_trgm_ops)"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_bank_customers_email ON bank_customers (tenant_id, lower(email)) "
        "WHERE email IS NOT NULL"
    )
    op.create_table(
        "bank_accounts",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("account_type", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.String(500)),
        sa.Column("branch_code", sa.String(20)),
        sa.Column("ifsc_code", sa.String(11)),
        sa.Column("ledger_account_id", sa.String(40), nullable=False),
        sa.Column("overdraft_limit", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(40)),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        _updated_at(),
        sa.UniqueConstraint("tenant_id", "number"),
        sa.UniqueConstraint("tenant_id", "ledger_account_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["bank_customers.tenant_id", "bank_customers.id"]
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "branch_code"], ["bank_branches.tenant_id", "bank_branches.code"]
        ),
        sa.CheckConstraint(
            "account_type IN ('SAVINGS', 'CURRENT', 'FIXED_DEPOSIT')", name="account_type"
        ),
        sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name="status"),
        sa.CheckConstraint("overdraft_limit >= 0", name="overdraft_non_negative"),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
    )
    op.create_index("ix_bank_accounts_customer", "bank_accounts", ["tenant_id", "customer_id"])
    op.create_table(
        "bank_account_numbers",
        _tenant(),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
        sa.CheckConstraint("last_value >= 1", name="last_value_positive"),
    )
    op.create_table(
        "bank_transactions",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("debit_account_id", sa.String(40)),
        sa.Column("credit_account_id", sa.String(40)),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("reference", sa.String(64)),
        sa.Column("ledger_ref", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(40)),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "ledger_ref"),
        sa.CheckConstraint(
            "kind IN ('deposit', 'withdrawal', 'transfer', 'interest', "
            "'loan_disbursement', 'loan_repayment')",
            name="kind",
        ),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "debit_account_id IS NOT NULL OR credit_account_id IS NOT NULL", name="has_account"
        ),
        sa.CheckConstraint(
            "debit_account_id IS DISTINCT FROM credit_account_id", name="distinct_accounts"
        ),
    )
    op.create_index(
        "ix_bank_transactions_debit", "bank_transactions", ["tenant_id", "debit_account_id", "id"]
    )
    op.create_index(
        "ix_bank_transactions_credit",
        "bank_transactions",
        ["tenant_id", "credit_account_id", "id"],
    )
    op.create_index(
        "ix_bank_transactions_created", "bank_transactions", ["tenant_id", "created_at"]
    )
    op.create_table(
        "bank_loans",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("principal", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("annual_rate", RATE, nullable=False),
        sa.Column("tenure_months", sa.SmallInteger, nullable=False),
        sa.Column("emi", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending_approval"),
        sa.Column("purpose", sa.String(500)),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("decided_by", sa.String(40)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.String(500)),
        sa.Column("ledger_account_id", sa.String(40)),
        sa.Column("disbursed_at", sa.DateTime(timezone=True)),
        sa.Column("first_due_date", sa.Date),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        _created_at(),
        _updated_at(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["bank_customers.tenant_id", "bank_customers.id"]
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id"], ["bank_accounts.tenant_id", "bank_accounts.id"]
        ),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'approved', 'rejected', 'disbursed', 'closed')",
            name="status",
        ),
        sa.CheckConstraint("principal > 0", name="principal_positive"),
        sa.CheckConstraint("annual_rate >= 0", name="rate_non_negative"),
        sa.CheckConstraint("tenure_months > 0", name="tenure_positive"),
        # Maker-checker in the schema too: whoever decides is never whoever applied.
        sa.CheckConstraint("decided_by IS DISTINCT FROM created_by", name="maker_checker"),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'rejected') OR decided_by IS NOT NULL",
            name="approved_by_someone",
        ),
    )
    op.create_index("ix_bank_loans_customer", "bank_loans", ["tenant_id", "customer_id"])
    op.create_table(
        "bank_loan_installments",
        _tenant(),
        sa.Column("loan_id", sa.String(40), primary_key=True),
        sa.Column("number", sa.SmallInteger, primary_key=True),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("principal", sa.BigInteger, nullable=False),
        sa.Column("interest", sa.BigInteger, nullable=False),
        sa.Column("principal_paid", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("interest_paid", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["bank_loans.tenant_id", "bank_loans.id"]
        ),
        sa.CheckConstraint("principal_paid BETWEEN 0 AND principal", name="principal_paid"),
        sa.CheckConstraint("interest_paid BETWEEN 0 AND interest", name="interest_paid"),
    )
    op.create_table(
        "bank_loan_repayments",
        _tenant(),
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("loan_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("principal", sa.BigInteger, nullable=False),
        sa.Column("interest", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(40)),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "loan_id"], ["bank_loans.tenant_id", "bank_loans.id"]
        ),
        sa.CheckConstraint("amount > 0 AND amount = principal + interest", name="split"),
        sa.CheckConstraint("principal >= 0 AND interest >= 0", name="parts_non_negative"),
    )
    op.create_index(
        "ix_bank_loan_repayments_loan", "bank_loan_repayments", ["tenant_id", "loan_id", "id"]
    )
    op.create_table(
        "bank_settings",
        _tenant(),
        sa.Column("savings_rate", RATE, nullable=False),
        sa.Column("updated_by", sa.String(40)),
        _updated_at(),
        sa.CheckConstraint("savings_rate >= 0", name="savings_rate_non_negative"),
    )
    op.create_table(
        "bank_interest_accruals",
        _tenant(),
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("accrual_date", sa.Date, primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("annual_rate", RATE, nullable=False),
        sa.Column("amount", ACCRUAL, nullable=False),
        _created_at(),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
    )
    op.create_table(
        "bank_interest_credits",
        _tenant(),
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column("period", sa.Date, primary_key=True),
        sa.Column("accrued", ACCRUAL, nullable=False),
        sa.Column("carried_in", ACCRUAL, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("carried_out", ACCRUAL, nullable=False),
        sa.Column("transaction_id", sa.String(40)),
        _created_at(),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        sa.CheckConstraint("carried_out >= 0 AND carried_out < 1", name="carry_fraction"),
        sa.CheckConstraint("extract(day FROM period) = 1", name="period_month_start"),
    )
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE ON {table} FROM {APP_ROLE}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
