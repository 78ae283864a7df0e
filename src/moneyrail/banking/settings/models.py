"""Per-tenant banking settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    DateTime,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.banking.types import RATE_COLUMN
from moneyrail.core.db import Base


class BankSettings(Base):
    """Per-tenant banking settings; a tenant without a row uses the defaults."""

    __tablename__ = "bank_settings"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    savings_rate: Mapped[Decimal] = mapped_column(RATE_COLUMN)
    updated_by: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
