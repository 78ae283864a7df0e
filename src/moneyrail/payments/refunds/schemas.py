"""Request and response bodies of refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from moneyrail.connectors.base import (
    RefundStatus,
)
from moneyrail.core.money import (
    MoneyModel,
    PositiveMoneyModel,
)
from moneyrail.payments.schemas import (
    Strict,
    Text,
)


class CreateRefundIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "pay_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
                    "amount": {"amount": 10000, "currency": "INR"},
                    "reason": "Item returned",
                }
            ]
        }
    )

    payment_id: Annotated[str, StringConstraints(max_length=40)]
    amount: PositiveMoneyModel | None = Field(
        default=None, description="A partial refund; the amount not yet refunded by default."
    )
    reason: Text | None = None


class RefundOut(BaseModel):
    id: str
    payment_id: str
    status: RefundStatus
    amount: MoneyModel
    reason: str | None = None
    provider: str
    provider_refund_id: str | None
    failure_message: str | None = None
    created_at: datetime
    updated_at: datetime
