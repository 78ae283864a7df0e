import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moneyrail.banking.loans.amortization import (
    Due,
    ScheduleInputError,
    add_months,
    allocate,
    emi,
    schedule,
)
from moneyrail.core import limits


def test_emi_acceptance_100000_at_12_percent_for_12_months() -> None:
    plan = schedule(
        principal=100_000_00,
        annual_rate=Decimal("12"),
        tenure_months=12,
        first_due_date=date(2026, 1, 31),
    )
    assert plan.emi == 8_884_88
    first = plan.installments[0]
    assert (first.interest, first.principal, first.closing_balance) == (
        1_000_00,
        7_884_88,
        92_115_12,
    )
    assert plan.installments[-1].closing_balance == 0
    assert sum(i.principal for i in plan.installments) == 100_000_00
    assert [i.payment for i in plan.installments[:-1]] == [8_884_88] * 11
    assert abs(plan.installments[-1].payment - plan.emi) <= 12
    assert plan.total_payment == plan.principal + plan.total_interest
    # Due dates keep the anchor day and clamp to shorter months.
    assert [i.due_date for i in plan.installments[:3]] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]


def test_zero_rate_splits_the_principal_evenly() -> None:
    plan = schedule(
        principal=1_000, annual_rate=Decimal(0), tenure_months=3, first_due_date=date(2026, 1, 1)
    )
    assert plan.emi == 333
    assert [i.principal for i in plan.installments] == [333, 333, 334]
    assert plan.total_interest == 0


@pytest.mark.parametrize(
    ("principal", "rate", "months"),
    [(0, "12", 12), (-5, "12", 12), (100, "-1", 12), (100, "12", 0), (100, "12", 10_000)],
)
def test_bad_terms_are_refused(principal: int, rate: str, months: int) -> None:
    with pytest.raises(ScheduleInputError):
        emi(principal=principal, annual_rate=Decimal(rate), tenure_months=months)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 12, 15), 12) == date(2025, 12, 15)


rates = st.decimals(
    min_value=Decimal(0),
    max_value=Decimal(limits.loan_annual_rate_percent_max),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(min_value=1, max_value=10**13),
    annual_rate=rates,
    tenure_months=st.integers(min_value=1, max_value=limits.loan_tenure_months_max),
)
def test_every_schedule_closes_to_zero(
    principal: int, annual_rate: Decimal, tenure_months: int
) -> None:
    plan = schedule(
        principal=principal,
        annual_rate=annual_rate,
        tenure_months=tenure_months,
        first_due_date=date(2026, 3, 31),
    )
    items = plan.installments
    assert len(items) == tenure_months
    assert items[-1].closing_balance == 0
    assert sum(i.principal for i in items) == principal
    assert all(i.principal >= 0 and i.interest >= 0 for i in items)
    assert all(i.payment == i.principal + i.interest for i in items)
    assert all(a.closing_balance == b.opening_balance for a, b in itertools.pairwise(items))
    assert all(i.closing_balance == i.opening_balance - i.principal for i in items)
    # Every instalment but the last is the EMI (unless the loan closed early).
    assert all(i.payment == plan.emi for i in items[:-1] if i.opening_balance > i.principal)
    assert sorted(i.due_date for i in items) == [i.due_date for i in items]


dues = st.lists(
    st.builds(
        Due,
        interest=st.integers(min_value=0, max_value=10**6),
        principal=st.integers(min_value=0, max_value=10**7),
    ),
    max_size=24,
)


@settings(max_examples=200, deadline=None)
@given(dues=dues, data=st.data())
def test_allocation_pays_interest_first_in_due_order(dues: list[Due], data: st.DataObject) -> None:
    owed = sum(d.total for d in dues)
    amount = data.draw(st.integers(min_value=0, max_value=owed))
    shares = allocate(dues, amount)
    assert sum(s.total for s in shares) == amount
    assert all(
        0 <= s.interest <= d.interest and 0 <= s.principal <= d.principal
        for s, d in zip(shares, dues, strict=True)
    )
    # Nothing reaches an instalment (or its principal) before everything ahead of it is paid.
    for index, (share, due) in enumerate(zip(shares, dues, strict=True)):
        if share.principal:
            assert share.interest == due.interest
        if share.total:
            assert all(s == d for s, d in zip(shares[:index], dues[:index], strict=True))


def test_allocation_refuses_overpayment() -> None:
    with pytest.raises(ScheduleInputError):
        allocate([Due(interest=1, principal=2)], 4)
