"""Request and response bodies of payments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from moneyrail.connectors.base import (
    CaptureMode,
    Environment,
    PaymentStatus,
)
from moneyrail.core.money import (
    MoneyModel,
    PositiveMoneyModel,
)
from moneyrail.payments.schemas import (
    CountryCode,
    CustomerIn,
    Metadata,
    MethodName,
    NextAction,
    ProviderName,
    Strict,
    Text,
    Url,
)


class CreatePaymentIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": {"amount": 49900, "currency": "INR"},
                    "customer": {
                        "email": "priya@example.com",
                        "phone": "+15005550006",
                        "name": "Priya Sharma",
                    },
                    "description": "Order #8812",
                    "capture": "automatic",
                    "return_url": "https://shop.example.com/orders/8812/return",
                    "metadata": {"order_id": "8812"},
                    "country": "IN",
                    "method": "upi",
                }
            ]
        }
    )

    amount: PositiveMoneyModel
    customer: CustomerIn = Field(default_factory=CustomerIn)
    description: Text | None = None
    provider: ProviderName | None = Field(
        default=None, description="Use only this provider; without it the routing rules decide."
    )
    capture: CaptureMode = CaptureMode.automatic
    return_url: Url | None = None
    metadata: Metadata = Field(default_factory=dict)
    country: CountryCode | None = Field(default=None, description="ISO 3166 alpha-2, for routing.")
    method: MethodName | None = Field(
        default=None, description="Payment method type for routing: card, upi, mobile_money, …"
    )
    payment_method: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None,
        description="A provider payment-method token (Stripe `pm_…`) to confirm server-side.",
    )


class Failure(BaseModel):
    code: str
    message: str | None = None


class PaymentAttemptOut(BaseModel):
    provider: str
    outcome: str
    error_code: str | None = None


class PaymentOut(BaseModel):
    id: str
    status: PaymentStatus
    environment: Environment
    amount: MoneyModel
    captured_amount: MoneyModel
    refunded_amount: MoneyModel
    fee: MoneyModel | None = None
    capture: CaptureMode
    provider: str | None
    provider_payment_id: str | None
    next_action: NextAction | None = None
    description: str | None = None
    customer: dict[str, str | None]
    metadata: dict[str, str]
    country: str | None = None
    method: str | None = None
    subscription_id: str | None = None
    failure: Failure | None = None
    attempts: list[PaymentAttemptOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class CaptureIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount": {"amount": 30000, "currency": "INR"}}]}
    )

    amount: PositiveMoneyModel | None = Field(
        default=None, description="Capture less than authorized; the whole amount by default."
    )
