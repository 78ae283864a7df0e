"""Request and response bodies of the banking API. Money is `{amount, currency}` in minor units."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from moneyrail.core import limits
from moneyrail.core.money import CurrencyCode, MoneyModel, PositiveMoneyModel


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


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
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
Rate = Annotated[Decimal, Field(ge=0, le=limits.loan_annual_rate_percent_max, decimal_places=4)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- branches ---------------------------------------------------------------------------------


class BranchCreate(BaseModel):
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
    email: EmailStr | None = None
    phone: Phone | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Name | None = None
    state: Name | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{3,12}$")] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "IN"
    kyc_status: KycStatus = KycStatus.PENDING


class CustomerCreate(CustomerFields):
    first_name: Name
    last_name: Name


class CustomerUpdate(CustomerFields):
    """Fields sent replace the stored ones; fields left out keep their values."""

    first_name: Name | None = None
    last_name: Name | None = None


class CustomerStatusUpdate(BaseModel):
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


class AccountOpen(BaseModel):
    customer_id: str = Field(max_length=40)
    account_type: AccountType
    currency: CurrencyCode = "INR"
    initial_deposit: MoneyModel | None = Field(
        default=None, description="Cash paid in at opening; requires an Idempotency-Key."
    )
    branch_code: BranchCode | None = None
    ifsc_code: Ifsc | None = None
    overdraft_limit: int = Field(
        default=0,
        ge=0,
        strict=True,
        description=(
            "CURRENT accounts only, in minor units: the balance may go below zero but"
            " stays above -overdraft_limit."
        ),
    )


class BalanceOut(BaseModel):
    account_number: str
    currency: str
    posted: MoneyModel
    pending: MoneyModel
    available: MoneyModel


class AccountOut(_Out):
    id: str
    number: str
    customer_id: str
    account_type: AccountType
    currency: str
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
    status: AccountStatus
    reason: Note | None = None


class CashIn(BaseModel):
    amount: PositiveMoneyModel
    description: Note | None = None


class TransferIn(CashIn):
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
    customer_id: str = Field(max_length=40)
    principal: PositiveMoneyModel
    annual_rate: Rate = Field(description="Percent per year, e.g. 12 or 10.5.")
    tenure_months: int = Field(ge=1, le=limits.loan_tenure_months_max)
    repayment_account_number: AccountNumber
    purpose: Note | None = None


class LoanDecision(BaseModel):
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
    currency: str
    count: int
    total: MoneyModel


class DailySummaryOut(BaseModel):
    date: date
    deposits: list[SummaryRow]
    withdrawals: list[SummaryRow]
    transfers: list[SummaryRow]


class BankSettingsIn(BaseModel):
    savings_rate: Annotated[
        Decimal, Field(ge=0, le=limits.savings_rate_percent_max, decimal_places=4)
    ] = Field(description="Savings interest, percent per year.")


class BankSettingsOut(BaseModel):
    savings_rate: Decimal
    updated_at: datetime | None


class AccrualResult(BaseModel):
    date: date
    tenants: int
    accounts_accrued: int
    accounts_credited: int
    interest_credited: dict[str, int] = Field(description="Minor units credited per currency.")
