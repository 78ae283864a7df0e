"""Response bodies of statements and reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    Field,
)

from moneyrail.core.money import (
    CurrencyCode,
    MoneyModel,
)


class StatementFormat(StrEnum):
    json = "json"
    csv = "csv"
    pdf = "pdf"


class StatementLineOut(BaseModel):
    transaction_id: str
    created_at: datetime
    kind: str
    description: str | None
    debit: MoneyModel
    credit: MoneyModel
    balance: MoneyModel


class StatementOut(BaseModel):
    account_number: str
    account_type: str
    customer_name: str
    currency: str
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    opening_balance: MoneyModel
    closing_balance: MoneyModel
    total_debits: MoneyModel
    total_credits: MoneyModel
    lines: list[StatementLineOut]
    generated_at: datetime


class SummaryRow(BaseModel):
    currency: CurrencyCode
    count: int
    total: MoneyModel


class DailySummaryOut(BaseModel):
    date: date
    deposits: list[SummaryRow]
    withdrawals: list[SummaryRow]
    transfers: list[SummaryRow]
