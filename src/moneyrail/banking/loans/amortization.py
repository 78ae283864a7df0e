"""Reducing-balance loan schedules (equated monthly instalments) in integer minor units.

EMI = P·r·(1+r)^n / ((1+r)^n - 1) with r the monthly rate, rounded half-up to the
currency's minor unit. Each month's interest is the opening balance times r, rounded the
same way; the principal part is the EMI less that interest. Rounding leaves a few minor
units over or under at the end, so the last instalment repays exactly the balance left and
the loan closes at zero.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from moneyrail.core import limits
from moneyrail.core.errors import invariant

MONTHS_PER_YEAR = 12
_PERCENT = Decimal(100)
# Enough digits that (1 + r)^n for the longest tenure keeps every minor unit exact.
_PRECISION_DIGITS = 50


class ScheduleInputError(ValueError):
    """Loan terms outside what a schedule can be computed for."""


@dataclass(frozen=True, slots=True)
class Installment:
    number: int
    due_date: date
    opening_balance: int
    payment: int
    principal: int
    interest: int
    closing_balance: int


@dataclass(frozen=True, slots=True)
class Schedule:
    principal: int
    annual_rate: Decimal
    tenure_months: int
    emi: int
    installments: tuple[Installment, ...]

    @property
    def total_interest(self) -> int:
        return sum(item.interest for item in self.installments)

    @property
    def total_payment(self) -> int:
        return sum(item.payment for item in self.installments)


def add_months(start: date, months: int) -> date:
    """`start` moved by whole months, clamped to the last day of a shorter month."""
    month_index = start.month - 1 + months
    year = start.year + month_index // MONTHS_PER_YEAR
    month = month_index % MONTHS_PER_YEAR + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _check_terms(principal: int, annual_rate: Decimal, tenure_months: int) -> None:
    if isinstance(principal, bool) or not isinstance(principal, int) or principal <= 0:
        raise ScheduleInputError("principal must be a positive number of minor units")
    if not annual_rate.is_finite() or not (
        Decimal(0) <= annual_rate <= limits.loan_annual_rate_percent_max
    ):
        raise ScheduleInputError(
            f"annual rate must be between 0 and {limits.loan_annual_rate_percent_max} percent"
        )
    if not 1 <= tenure_months <= limits.loan_tenure_months_max:
        raise ScheduleInputError(
            f"tenure must be between 1 and {limits.loan_tenure_months_max} months"
        )


def monthly_rate(annual_rate: Decimal) -> Decimal:
    """The monthly rate as a fraction: 12 (% p.a.) → 0.01."""
    return annual_rate / _PERCENT / MONTHS_PER_YEAR


def emi(*, principal: int, annual_rate: Decimal, tenure_months: int) -> int:
    """The equated monthly instalment in minor units.

    Raises:
        ScheduleInputError: a non-positive principal, or a rate or tenure out of bounds.
    """
    _check_terms(principal, annual_rate, tenure_months)
    with localcontext() as ctx:
        ctx.prec = _PRECISION_DIGITS
        rate = monthly_rate(annual_rate)
        if rate == 0:
            return _round(Decimal(principal) / tenure_months)
        growth = (1 + rate) ** tenure_months
        return _round(Decimal(principal) * rate * growth / (growth - 1))


def schedule(
    *, principal: int, annual_rate: Decimal, tenure_months: int, first_due_date: date
) -> Schedule:
    """The full repayment schedule; instalment k falls due k-1 months after `first_due_date`.

    Raises:
        ScheduleInputError: a non-positive principal, or a rate or tenure out of bounds.
    """
    payment = emi(principal=principal, annual_rate=annual_rate, tenure_months=tenure_months)
    installments: list[Installment] = []
    balance = principal
    with localcontext() as ctx:
        ctx.prec = _PRECISION_DIGITS
        rate = monthly_rate(annual_rate)
        for number in range(1, tenure_months + 1):
            interest = _round(Decimal(balance) * rate)
            principal_part = payment - interest
            # The last instalment (or one that would overshoot) repays exactly what is left.
            if number == tenure_months or principal_part > balance:
                principal_part = balance
            invariant(principal_part >= 0, "an instalment may not increase the loan balance")
            installments.append(
                Installment(
                    number=number,
                    due_date=add_months(first_due_date, number - 1),
                    opening_balance=balance,
                    payment=principal_part + interest,
                    principal=principal_part,
                    interest=interest,
                    closing_balance=balance - principal_part,
                )
            )
            balance -= principal_part
    invariant(balance == 0, "a loan schedule must close at zero")
    invariant(
        sum(item.principal for item in installments) == principal,
        "a loan schedule must repay exactly the principal",
    )
    return Schedule(
        principal=principal,
        annual_rate=annual_rate,
        tenure_months=tenure_months,
        emi=payment,
        installments=tuple(installments),
    )


@dataclass(frozen=True, slots=True)
class Due:
    """What an instalment still owes (or, from `allocate`, what it receives)."""

    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.interest + self.principal


def allocate(dues: Sequence[Due], amount: int) -> list[Due]:
    """Split a repayment over instalments in due order, each one's interest before its
    principal; returns what each instalment receives.

    Raises:
        ScheduleInputError: a negative amount, or more than the instalments owe.
    """
    if amount < 0 or amount > sum(due.total for due in dues):
        raise ScheduleInputError("a repayment must be between zero and the amount owed")
    shares: list[Due] = []
    left = amount
    for due in dues:
        interest = min(left, due.interest)
        principal = min(left - interest, due.principal)
        left -= interest + principal
        shares.append(Due(interest=interest, principal=principal))
    invariant(left == 0, "a repayment is allocated in full")
    return shares
