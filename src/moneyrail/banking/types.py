"""Types shared by the banking sub-domains: body fields and column types."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.config import JsonDict
from sqlalchemy import Numeric

from moneyrail.core import limits
from moneyrail.core.types import Percent

RATE_COLUMN = Numeric(7, 4)
ACCRUAL_COLUMN = Numeric(24, 6)

# Surrounding blanks are stripped, so the schema asks for one character that is not blank.
NOT_BLANK_PATTERN = r"\S"
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
]
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
]
# Free text is stored as sent (leading whitespace included).
Note = Annotated[str, StringConstraints(max_length=500)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{7,15}$")]
BranchCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{2,20}$"),
    AfterValidator(str.upper),
]
# Indian Financial System Code: four letters, a zero, six letters or digits.
Ifsc = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{4}0[A-Za-z0-9]{6}$"),
    AfterValidator(str.upper),
]
AccountNumber = Annotated[str, StringConstraints(pattern=r"^AC-\d{8}-\d{6}$")]
Rate = Annotated[Decimal, Percent(limits.loan_annual_rate_percent_max)]
SavingsRate = Annotated[Decimal, Percent(limits.savings_rate_percent_max)]


def examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
