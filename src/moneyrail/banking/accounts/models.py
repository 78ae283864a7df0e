"""Bank accounts and their journal. Balances are never stored here: the ledger owns them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.core.db import Base


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
