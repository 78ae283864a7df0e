"""Loans, their installment schedules and repayments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.banking.types import RATE_COLUMN
from moneyrail.core.db import Base


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
    annual_rate: Mapped[Decimal] = mapped_column(RATE_COLUMN)
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
