"""Savings interest arithmetic: daily accrual below the minor unit, monthly credit in whole units.

Interest accrues every day on the end-of-day balance at the tenant's annual rate
(Actual/365 Fixed, the convention of Indian savings accounts), kept with six decimal places
of a minor unit. At month end the month's accruals plus the remainder carried from the
previous month are credited in whole minor units; the fraction is carried forward, so no
fraction of a paisa is ever lost or paid twice.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

DAYS_PER_YEAR = 365
# Accruals are stored as NUMERIC(24, 6) minor units.
ACCRUAL_SCALE = 6
ACCRUAL_QUANTUM = Decimal(1).scaleb(-ACCRUAL_SCALE)
_PERCENT = Decimal(100)


def daily_accrual(*, balance: int, annual_rate: Decimal) -> Decimal:
    """One day's interest in minor units (fractional) on a balance; nothing on a balance ≤ 0."""
    if balance <= 0 or annual_rate <= 0:
        return Decimal(0).quantize(ACCRUAL_QUANTUM)
    raw = Decimal(balance) * annual_rate / _PERCENT / DAYS_PER_YEAR
    return raw.quantize(ACCRUAL_QUANTUM, rounding=ROUND_HALF_EVEN)


def split_credit(*, accrued: Decimal, carried: Decimal) -> tuple[int, Decimal]:
    """The whole minor units to credit now and the fraction to carry to next month."""
    total = accrued + carried
    whole = int(total.to_integral_value(rounding=ROUND_DOWN))
    return whole, (total - whole).quantize(ACCRUAL_QUANTUM)


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month_start(day: date) -> date:
    first = month_start(day)
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)
