"""Request and response bodies of bank accounts and their movements. Money is minor units."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic.config import JsonDict

from moneyrail.banking.types import (
    AccountNumber,
    BranchCode,
    Ifsc,
    Note,
    ReadModel,
    examples,
)
from moneyrail.core import limits
from moneyrail.core.money import (
    CurrencyCode,
    MoneyModel,
    NonNegativeMoneyModel,
    PositiveMoneyModel,
    integral_number,
)
from moneyrail.core.types import IdRef


class AccountType(StrEnum):
    SAVINGS = "SAVINGS"
    CURRENT = "CURRENT"
    FIXED_DEPOSIT = "FIXED_DEPOSIT"


class AccountStatus(StrEnum):
    active = "active"
    frozen = "frozen"
    closed = "closed"


class TransactionKind(StrEnum):
    deposit = "deposit"
    withdrawal = "withdrawal"
    transfer = "transfer"
    interest = "interest"
    loan_disbursement = "loan_disbursement"
    loan_repayment = "loan_repayment"


def _account_open_schema(schema: JsonDict) -> None:
    # The service's rule, in the schema: only CURRENT accounts have an overdraft.
    schema["anyOf"] = [
        {"properties": {"account_type": {"const": AccountType.CURRENT.value}}},
        {"properties": {"overdraft_limit": {"const": 0}}},
    ]
    schema["examples"] = [
        {
            "customer_id": "cus_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
            "account_type": "SAVINGS",
            "currency": "INR",
            "initial_deposit": {"amount": 500000, "currency": "INR"},
            "branch_code": "MUM01",
        }
    ]


class AccountOpen(BaseModel):
    model_config = ConfigDict(json_schema_extra=_account_open_schema)

    customer_id: IdRef
    account_type: AccountType
    currency: CurrencyCode = "INR"
    initial_deposit: NonNegativeMoneyModel | None = Field(
        default=None, description="Cash paid in at opening; requires an Idempotency-Key."
    )
    branch_code: BranchCode | None = None
    ifsc_code: Ifsc | None = None
    overdraft_limit: Annotated[
        int,
        Field(ge=0, le=limits.ledger_overdraft_limit_minor_max, strict=True),
        BeforeValidator(integral_number),
    ] = Field(
        default=0,
        description=(
            "CURRENT accounts only, in minor units: the balance may go below zero but"
            " stays above -overdraft_limit."
        ),
    )


class BalanceOut(BaseModel):
    account_number: str
    currency: CurrencyCode
    posted: MoneyModel
    pending: MoneyModel
    available: MoneyModel


class AccountOut(ReadModel):
    id: str
    number: str
    customer_id: str
    account_type: AccountType
    currency: CurrencyCode
    status: AccountStatus
    status_reason: str | None
    branch_code: str | None
    ifsc_code: str | None
    ledger_account_id: str
    overdraft_limit: int
    opened_at: datetime
    closed_at: datetime | None
    balance: BalanceOut | None = None


class AccountStatusUpdate(BaseModel):
    model_config = examples({"status": "frozen", "reason": "Court order 2291/2026"})

    status: AccountStatus
    reason: Note | None = None


class CashIn(BaseModel):
    model_config = examples(
        {"amount": {"amount": 250000, "currency": "INR"}, "description": "Cash at branch"}
    )

    amount: PositiveMoneyModel
    description: Note | None = None


class TransferIn(CashIn):
    model_config = examples(
        {
            "amount": {"amount": 120000, "currency": "INR"},
            "to_account_number": "AC-20260312-000042",
            "description": "Rent for March",
        }
    )

    to_account_number: AccountNumber


class TransactionOut(BaseModel):
    id: str
    kind: TransactionKind
    direction: Literal["credit", "debit"]
    amount: MoneyModel
    account_number: str
    counterparty_account_number: str | None = None
    description: str | None
    reference: str | None
    ledger_ref: str
    created_at: datetime
    balance_after: MoneyModel | None = Field(
        default=None, description="The account's posted balance right after this transaction."
    )
