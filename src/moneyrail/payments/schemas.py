"""Request and response bodies of the payments API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from moneyrail.connectors.base import (
    CaptureMode,
    Environment,
    PaymentStatus,
    PlanInterval,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.core import limits
from moneyrail.core.money import (
    CurrencyCode,
    MoneyModel,
    NonNegativeMinorUnits,
    PositiveMoneyModel,
)
from moneyrail.core.types import MetadataKey

ProviderName = Literal["stripe", "paypal", "razorpay", "paystack", "flutterwave", "chapa"]
Text = Annotated[str, StringConstraints(max_length=limits.payment_text_length_max)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
MethodName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
MetadataValue = Annotated[
    str, StringConstraints(max_length=limits.payment_metadata_value_length_max)
]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue], Field(max_length=limits.payment_metadata_keys_max)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    email: (
        Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None
    phone: (
        Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ()-]{4,32}$")] | None
    ) = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


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


class NextAction(BaseModel):
    type: Literal["redirect"] = "redirect"
    url: str


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


# --- subscriptions ---------------------------------------------------------------------------


class PlanIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    amount: PositiveMoneyModel
    interval: PlanInterval
    interval_count: int = Field(default=1, ge=1, le=365)


def _one_plan_schema(schema: JsonDict) -> None:
    # `_one_plan` below, in the schema: exactly one of `plan_id` and `plan`.
    schema["anyOf"] = [
        {
            "required": ["plan_id"],
            "properties": {"plan_id": {"type": "string"}, "plan": {"type": "null"}},
        },
        {
            "required": ["plan"],
            "properties": {"plan": {"type": "object"}, "plan_id": {"type": "null"}},
        },
    ]
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


# --- routing ---------------------------------------------------------------------------------

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


# --- provider credentials ("services") --------------------------------------------------------

CredentialValue = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.provider_credential_value_length_max)
]
CredentialName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class CredentialsIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "environment": "test",
                    "credentials": {
                        "key_id": "rzp_test_1DP5mmOlF5G5ag",
                        "key_secret": "thisisasecretkey",
                    },
                    "webhook_secrets": ["whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"],
                }
            ]
        }
    )

    environment: Environment = Environment.test
    credentials: Annotated[
        dict[CredentialName, CredentialValue],
        Field(
            min_length=1,
            max_length=limits.provider_credential_fields_max,
            # Keys are the pattern's names only (patternProperties leaves others open).
            json_schema_extra={"additionalProperties": False},
        ),
    ]
    webhook_secrets: Annotated[
        list[CredentialValue], Field(max_length=limits.webhook_secrets_max)
    ] = Field(
        default_factory=list,
        description="Every webhook secret to accept; list two while rotating.",
    )


class EnvironmentIn(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"environment": "live"}]})

    environment: Environment


class StoredCredentialOut(BaseModel):
    environment: Environment
    fields: dict[str, str] = Field(description="Each secret's last four characters only.")
    webhook_secrets: list[str] = Field(description="Each webhook secret's last four characters.")
    updated_at: datetime


class ServiceOut(BaseModel):
    provider: str
    environment: Environment
    connected: bool
    credentials: list[StoredCredentialOut]
    required_fields: list[str]
    supports_subscriptions: bool
    webhook_url: str


class ServicesOut(BaseModel):
    data: list[ServiceOut]
