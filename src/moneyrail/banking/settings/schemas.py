"""Request and response bodies of a tenant's banking settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import (
    BaseModel,
    Field,
)

from moneyrail.banking.types import (
    SavingsRate,
    examples,
)


class BankSettingsIn(BaseModel):
    model_config = examples({"savings_rate": "3.5"})

    savings_rate: SavingsRate = Field(description="Savings interest, percent per year.")


class BankSettingsOut(BaseModel):
    savings_rate: Decimal
    updated_at: datetime | None
