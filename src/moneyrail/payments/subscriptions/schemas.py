"""Request and response bodies of subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from moneyrail.connectors.base import (
    Environment,
    PlanInterval,
    SubscriptionStatus,
)
from moneyrail.core import limits
from moneyrail.core.money import (
    MoneyModel,
    PositiveMoneyModel,
)
from moneyrail.payments.schemas import (
    CustomerIn,
    Metadata,
    NextAction,
    ProviderName,
    Strict,
    Url,
)


class PlanIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    amount: PositiveMoneyModel
    interval: PlanInterval
    interval_count: int = Field(default=1, ge=1, le=365)


def _one_plan_schema(schema: JsonDict) -> None:
    # `_one_plan` below, in the schema: exactly one of `plan_id` and `plan`.
    # Exactly one of the two: not both given, and not neither (null counts as not given).
    # Said with `not` rather than a union of two object shapes, which client generators
    # turn into two models with clashing names.
    schema["not"] = {
        "anyOf": [
            {
                "required": ["plan_id", "plan"],
                "properties": {"plan_id": {"type": "string"}, "plan": {"type": "object"}},
            },
            {"properties": {"plan_id": {"type": "null"}, "plan": {"type": "null"}}},
        ]
    }
    schema["examples"] = [
        {
            "provider": "stripe",
            "plan": {
                "name": "Pro monthly",
                "amount": {"amount": 1999, "currency": "USD"},
                "interval": "month",
            },
            "customer": {"email": "priya@example.com", "name": "Priya Sharma"},
            "payment_method": "pm_card_visa",
            "metadata": {"account": "acme-42"},
        }
    ]


class CreateSubscriptionIn(Strict):
    model_config = ConfigDict(
        json_schema_extra=_one_plan_schema,
    )

    provider: ProviderName | None = Field(
        default=None, description="Stripe, PayPal, Razorpay or Paystack (those with subscriptions)."
    )
    plan_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="An existing plan/price id at the provider."
    )
    plan: PlanIn | None = Field(default=None, description="A plan to create at the provider.")
    customer: CustomerIn = Field(default_factory=CustomerIn)
    quantity: int = Field(default=1, ge=1, le=10_000)
    total_count: int | None = Field(default=None, ge=1, le=limits.subscription_billing_cycles_max)
    payment_method: Annotated[str, StringConstraints(max_length=128)] | None = None
    return_url: Url | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_plan(self) -> CreateSubscriptionIn:
        if (self.plan_id is None) == (self.plan is None):
            raise ValueError("give exactly one of plan_id and plan")
        return self


class PlanOut(BaseModel):
    id: str
    amount: MoneyModel | None = None
    interval: PlanInterval | None = None
    interval_count: int | None = None


class SubscriptionOut(BaseModel):
    id: str
    status: SubscriptionStatus
    environment: Environment
    provider: str
    provider_subscription_id: str | None
    plan: PlanOut
    quantity: int
    total_count: int | None = None
    customer: dict[str, str | None]
    metadata: dict[str, str]
    next_action: NextAction | None = None
    current_period_end: datetime | None = None
    created_at: datetime
    updated_at: datetime
