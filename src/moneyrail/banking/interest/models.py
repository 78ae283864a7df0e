"""Daily interest accruals and monthly interest credits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.banking.types import ACCRUAL_COLUMN, RATE_COLUMN
from moneyrail.core.db import Base


class InterestAccrual(Base):
    """One day's savings interest for one account; unique per day so a rerun adds nothing."""

    __tablename__ = "bank_interest_accruals"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    accrual_date: Mapped[date] = mapped_column(Date, primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(RATE_COLUMN)
    amount: Mapped[Decimal] = mapped_column(ACCRUAL_COLUMN)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InterestCredit(Base):
    """A month's interest credited in whole minor units, with the fraction carried forward."""

    __tablename__ = "bank_interest_credits"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    accrued: Mapped[Decimal] = mapped_column(ACCRUAL_COLUMN)
    carried_in: Mapped[Decimal] = mapped_column(ACCRUAL_COLUMN)
    amount: Mapped[int] = mapped_column(BigInteger)
    carried_out: Mapped[Decimal] = mapped_column(ACCRUAL_COLUMN)
    transaction_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
