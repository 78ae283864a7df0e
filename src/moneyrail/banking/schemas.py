"""Request and response bodies of the banking API. Money is `{amount, currency}` in minor units."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.config import JsonDict

from moneyrail.core import limits
from moneyrail.core.money import (
    CurrencyCode,
    MoneyModel,
    NonNegativeMoneyModel,
    PositiveMoneyModel,
    integral_number,
)
from moneyrail.core.types import Email, IdRef, Percent


class AccountType(StrEnum):
    SAVINGS = "SAVINGS"
    CURRENT = "CURRENT"
    FIXED_DEPOSIT = "FIXED_DEPOSIT"


class AccountStatus(StrEnum):
    active = "active"
    frozen = "frozen"
    closed = "closed"


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


class LoanStatus(StrEnum):
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"
    disbursed = "disbursed"
    closed = "closed"


class TransactionKind(StrEnum):
    deposit = "deposit"
    withdrawal = "withdrawal"
    transfer = "transfer"
    interest = "interest"
    loan_disbursement = "loan_disbursement"
    loan_repayment = "loan_repayment"


class StatementFormat(StrEnum):
    json = "json"
    csv = "csv"
    pdf = "pdf"


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


def _examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- branches ---------------------------------------------------------------------------------


class BranchCreate(BaseModel):
    model_config = _examples(
        {
            "code": "MUM01",
            "name": "Mumbai Fort",
            "ifsc": "MRBK0000001",
            "address": "12 Hamam Street, Fort",
            "city": "Mumbai",
            "state": "Maharashtra",
        }
    )

    code: BranchCode
    name: Line
    ifsc: Ifsc | None = None
    address: Note | None = None
    city: Name | None = None
    state: Name | None = None


class BranchOut(_Out):
    id: str
    code: str
    name: str
    ifsc: str | None
    address: str | None
    city: str | None
    state: str | None
    created_at: datetime


# --- customers --------------------------------------------------------------------------------


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
    model_config = _examples(
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

    model_config = _examples({"phone": "+15005550006", "kyc_status": "VERIFIED"})

    first_name: Name | None = None
    last_name: Name | None = None


class CustomerStatusUpdate(BaseModel):
    model_config = _examples({"status": "blocked", "reason": "Suspected fraud under review"})

    status: CustomerStatus
    reason: Note | None = None


class CustomerOut(_Out):
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


# --- accounts ---------------------------------------------------------------------------------


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


class AccountOut(_Out):
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
    model_config = _examples({"status": "frozen", "reason": "Court order 2291/2026"})

    status: AccountStatus
    reason: Note | None = None


class CashIn(BaseModel):
    model_config = _examples(
        {"amount": {"amount": 250000, "currency": "INR"}, "description": "Cash at branch"}
    )

    amount: PositiveMoneyModel
    description: Note | None = None


class TransferIn(CashIn):
    model_config = _examples(
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


class StatementLineOut(BaseModel):
    transaction_id: str
    created_at: datetime
    kind: str
    description: str | None
    debit: MoneyModel
    credit: MoneyModel
    balance: MoneyModel


class StatementOut(BaseModel):
    account_number: str
    account_type: str
    customer_name: str
    currency: str
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    opening_balance: MoneyModel
    closing_balance: MoneyModel
    total_debits: MoneyModel
    total_credits: MoneyModel
    lines: list[StatementLineOut]
    generated_at: datetime


# --- loans ------------------------------------------------------------------------------------


class LoanCreate(BaseModel):
    model_config = _examples(
        {
            "customer_id": "cus_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
            "principal": {"amount": 50000000, "currency": "INR"},
            "annual_rate": "10.5",
            "tenure_months": 36,
            "repayment_account_number": "AC-20260312-000042",
            "purpose": "Home renovation",
        }
    )

    customer_id: IdRef
    principal: PositiveMoneyModel
    annual_rate: Rate = Field(description="Percent per year, e.g. 12 or 10.5.")
    tenure_months: int = Field(ge=1, le=limits.loan_tenure_months_max)
    repayment_account_number: AccountNumber
    purpose: Note | None = None


class LoanDecision(BaseModel):
    model_config = _examples({"note": "Income and credit history verified"})

    note: Note | None = None


class DueOut(BaseModel):
    number: int
    due_date: date
    amount_due: MoneyModel


class OverdueOut(BaseModel):
    installments: int
    amount: MoneyModel
    oldest_due_date: date | None


class LoanOut(BaseModel):
    id: str
    customer_id: str
    repayment_account_number: str
    principal: MoneyModel
    annual_rate: Decimal
    tenure_months: int
    emi: MoneyModel
    status: LoanStatus
    purpose: str | None
    created_by: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    disbursed_at: datetime | None
    first_due_date: date | None
    closed_at: datetime | None
    created_at: datetime
    outstanding_principal: MoneyModel
    outstanding_interest: MoneyModel
    next_due: DueOut | None
    overdue: OverdueOut


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    opening_balance: MoneyModel
    payment: MoneyModel
    principal: MoneyModel
    interest: MoneyModel
    closing_balance: MoneyModel
    principal_paid: MoneyModel
    interest_paid: MoneyModel
    status: Literal["paid", "partially_paid", "due", "overdue"]


class ScheduleOut(BaseModel):
    loan_id: str
    projected: bool = Field(description="True until disbursement fixes the due dates.")
    emi: MoneyModel
    total_interest: MoneyModel
    total_payment: MoneyModel
    installments: list[InstallmentOut]


class RepaymentIn(BaseModel):
    model_config = _examples({"amount": {"amount": 1625000, "currency": "INR"}})

    amount: PositiveMoneyModel


class RepaymentOut(BaseModel):
    id: str
    loan_id: str
    amount: MoneyModel
    principal: MoneyModel
    interest: MoneyModel
    transaction_id: str
    created_at: datetime
    loan_status: LoanStatus
    outstanding_principal: MoneyModel


# --- reports and settings ---------------------------------------------------------------------


class SummaryRow(BaseModel):
    currency: CurrencyCode
    count: int
    total: MoneyModel


class DailySummaryOut(BaseModel):
    date: date
    deposits: list[SummaryRow]
    withdrawals: list[SummaryRow]
    transfers: list[SummaryRow]


class BankSettingsIn(BaseModel):
    model_config = _examples({"savings_rate": "3.5"})

    savings_rate: SavingsRate = Field(description="Savings interest, percent per year.")


class BankSettingsOut(BaseModel):
    savings_rate: Decimal
    updated_at: datetime | None


class AccrualResult(BaseModel):
    date: date
    tenants: int
    accounts_accrued: int
    accounts_credited: int
    interest_credited: dict[str, int] = Field(description="Minor units credited per currency.")
