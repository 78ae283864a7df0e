"""Core banking tables. Balances are never stored here: the ledger owns every balance.

Every table is keyed by `tenant_id` first and foreign keys stay inside one tenant.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Computed,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.core.db import Base

RATE = Numeric(7, 4)
ACCRUAL = Numeric(24, 6)


class Branch(Base):
    __tablename__ = "bank_branches"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    ifsc: Mapped[str | None] = mapped_column(String(11))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


CUSTOMER_SEARCH_TEXT = (
    "lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' "
    "|| coalesce(phone, ''))"
)


class Customer(Base):
    __tablename__ = "bank_customers"
    __table_args__ = (
        Index(
            "ix_bank_customers_search",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2), server_default="IN")
    kyc_status: Mapped[str] = mapped_column(String(16), server_default="PENDING")
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    search_text: Mapped[str] = mapped_column(Text, Computed(CUSTOMER_SEARCH_TEXT, persisted=True))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class BankAccount(Base):
    __tablename__ = "bank_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "ledger_account_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["bank_customers.tenant_id", "bank_customers.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "branch_code"], ["bank_branches.tenant_id", "bank_branches.code"]
        ),
        Index("ix_bank_accounts_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(24))
    customer_id: Mapped[str] = mapped_column(String(40))
    account_type: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    branch_code: Mapped[str | None] = mapped_column(String(20))
    ifsc_code: Mapped[str | None] = mapped_column(String(11))
    ledger_account_id: Mapped[str] = mapped_column(String(40))
    overdraft_limit: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_by: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AccountNumberSequence(Base):
    """The last account number handed out per tenant and day (`AC-YYYYMMDD-NNNNNN`)."""

    __tablename__ = "bank_account_numbers"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class BankTransaction(Base):
    """The banking journal: one row per money movement, pointing at its ledger entry."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ledger_ref"),
        Index("ix_bank_transactions_debit", "tenant_id", "debit_account_id", "id"),
        Index("ix_bank_transactions_credit", "tenant_id", "credit_account_id", "id"),
        Index("ix_bank_transactions_created", "tenant_id", "created_at"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    debit_account_id: Mapped[str | None] = mapped_column(String(40))
    credit_account_id: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(64))
    ledger_ref: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Loan(Base):
    __tablename__ = "bank_loans"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["bank_customers.tenant_id", "bank_customers.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "account_id"], ["bank_accounts.tenant_id", "bank_accounts.id"]
        ),
        Index("ix_bank_loans_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(40))
    principal: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    annual_rate: Mapped[Decimal] = mapped_column(RATE)
    tenure_months: Mapped[int] = mapped_column(SmallInteger)
    emi: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), server_default="pending_approval")
    purpose: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    ledger_account_id: Mapped[str | None] = mapped_column(String(40))
    disbursed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_due_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LoanInstallment(Base):
    __tablename__ = "bank_loan_installments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "loan_id"], ["bank_loans.tenant_id", "bank_loans.id"]),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    principal_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    interest_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoanRepayment(Base):
    __tablename__ = "bank_loan_repayments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "loan_id"], ["bank_loans.tenant_id", "bank_loans.id"]),
        Index("ix_bank_loan_repayments_loan", "tenant_id", "loan_id", "id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    transaction_id: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BankSettings(Base):
    """Per-tenant banking settings; a tenant without a row uses the defaults."""

    __tablename__ = "bank_settings"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    savings_rate: Mapped[Decimal] = mapped_column(RATE)
    updated_by: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class InterestAccrual(Base):
    """One day's savings interest for one account; unique per day so a rerun adds nothing."""

    __tablename__ = "bank_interest_accruals"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    accrual_date: Mapped[date] = mapped_column(Date, primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(RATE)
    amount: Mapped[Decimal] = mapped_column(ACCRUAL)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InterestCredit(Base):
    """A month's interest credited in whole minor units, with the fraction carried forward."""

    __tablename__ = "bank_interest_credits"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    accrued: Mapped[Decimal] = mapped_column(ACCRUAL)
    carried_in: Mapped[Decimal] = mapped_column(ACCRUAL)
    amount: Mapped[int] = mapped_column(BigInteger)
    carried_out: Mapped[Decimal] = mapped_column(ACCRUAL)
    transaction_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
