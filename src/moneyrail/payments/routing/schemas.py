"""Request and response bodies of routing rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from moneyrail.core import limits
from moneyrail.core.money import (
    CurrencyCode,
    NonNegativeMinorUnits,
)
from moneyrail.payments.schemas import (
    CountryCode,
    MethodName,
    ProviderName,
    Strict,
)

ProviderList = Annotated[
    list[ProviderName], Field(min_length=1, max_length=limits.payment_routing_providers_max)
]


class RoutingRuleIn(Strict):
    currency: CurrencyCode | None = None
    country: CountryCode | None = None
    method: MethodName | None = None
    amount_min: NonNegativeMinorUnits | None = None
    amount_max: NonNegativeMinorUnits | None = None
    providers: ProviderList

    @model_validator(mode="after")
    def _range(self) -> RoutingRuleIn:
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_min > self.amount_max
        ):
            raise ValueError("amount_min must not exceed amount_max")
        return self


class RoutingRulesIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {"currency": "INR", "method": "upi", "providers": ["razorpay"]},
                        {
                            "currency": "USD",
                            "amount_min": 100,
                            "amount_max": 1000000,
                            "providers": ["stripe", "paypal"],
                        },
                    ],
                    "default": ["stripe"],
                }
            ]
        }
    )

    rules: Annotated[list[RoutingRuleIn], Field(max_length=limits.payment_routing_rules_max)] = (
        Field(default_factory=list)
    )
    default: Annotated[
        list[ProviderName], Field(max_length=limits.payment_routing_providers_max)
    ] = Field(default_factory=list, description="Providers to try when no rule matches.")


class RoutingRulesOut(BaseModel):
    rules: list[RoutingRuleIn]
    default: list[str]
    builtin_default: dict[str, list[str]] = Field(
        description="The order used for a currency when neither a rule nor `default` applies."
    )
    updated_at: datetime | None = None
