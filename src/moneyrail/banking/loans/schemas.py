"""Request and response bodies of loans. Money is minor units."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
)

from moneyrail.banking.types import (
    AccountNumber,
    Note,
    Rate,
    examples,
)
from moneyrail.core import limits
from moneyrail.core.money import (
    MoneyModel,
    PositiveMoneyModel,
)
from moneyrail.core.types import IdRef


class LoanStatus(StrEnum):
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"
    disbursed = "disbursed"
    closed = "closed"


class LoanCreate(BaseModel):
    model_config = examples(
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
    model_config = examples({"note": "Income and credit history verified"})

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
    model_config = examples({"amount": {"amount": 1625000, "currency": "INR"}})

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
