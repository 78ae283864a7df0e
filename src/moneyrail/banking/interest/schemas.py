"""The interest job's result."""

from __future__ import annotations

from datetime import date

from pydantic import (
    BaseModel,
    Field,
)


class AccrualResult(BaseModel):
    date: date
    tenants: int
    accounts_accrued: int
    accounts_credited: int
    interest_credited: dict[str, int] = Field(description="Minor units credited per currency.")
