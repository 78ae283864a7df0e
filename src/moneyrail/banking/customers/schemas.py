"""Request and response bodies of bank customers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    StringConstraints,
)

from moneyrail.banking.types import (
    Line,
    Name,
    Note,
    Phone,
    ReadModel,
    examples,
)
from moneyrail.core.types import Email


class CustomerStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    blocked = "blocked"


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    OTHER = "OTHER"


class KycStatus(StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


class CustomerFields(BaseModel):
    date_of_birth: date | None = None
    gender: Gender | None = None
    email: Email | None = None
    phone: Phone | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Name | None = None
    state: Name | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{3,12}$")] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "IN"
    kyc_status: KycStatus = KycStatus.PENDING


class CustomerCreate(CustomerFields):
    model_config = examples(
        {
            "first_name": "Priya",
            "last_name": "Sharma",
            "date_of_birth": "1990-04-12",
            "gender": "FEMALE",
            "email": "priya@example.com",
            "phone": "+15005550006",
            "address_line1": "12 Hamam Street",
            "city": "Mumbai",
            "state": "Maharashtra",
            "postal_code": "400001",
            "country": "IN",
        }
    )

    first_name: Name
    last_name: Name


class CustomerUpdate(CustomerFields):
    """Fields sent replace the stored ones; fields left out keep their values."""

    model_config = examples({"phone": "+15005550006", "kyc_status": "VERIFIED"})

    first_name: Name | None = None
    last_name: Name | None = None


class CustomerStatusUpdate(BaseModel):
    model_config = examples({"status": "blocked", "reason": "Suspected fraud under review"})

    status: CustomerStatus
    reason: Note | None = None


class CustomerOut(ReadModel):
    id: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    gender: Gender | None
    email: str | None
    phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str
    kyc_status: KycStatus
    status: CustomerStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
