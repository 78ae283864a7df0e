"""Types shared by the request bodies of the payments sub-domains."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from moneyrail.core import limits
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


class NextAction(BaseModel):
    type: Literal["redirect"] = "redirect"
    url: str
