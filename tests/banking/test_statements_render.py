import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from moneyrail.banking.interest.accrual import daily_accrual, is_month_end, split_credit
from moneyrail.banking.reports.statements import (
    Movement,
    Statement,
    render_csv,
    render_pdf,
    running_lines,
)


def _statement(count: int) -> Statement:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    movements = [
        Movement(
            transaction_id=f"btxn_{i:04d}",
            created_at=start + timedelta(hours=i),
            kind="deposit" if i % 3 else "withdrawal",
            description="Cash — counter ✓" if i == 1 else None,
            amount=1_000 if i % 3 else -250,
        )
        for i in range(count)
    ]
    lines = running_lines(5_000, movements)
    return Statement(
        account_number="AC-20260101-000001",
        account_type="SAVINGS",
        customer_name="Zoë Ångström",
        currency="INR",
        period_from=date(2026, 1, 1),
        period_to=date(2026, 1, 31),
        opening_balance=5_000,
        closing_balance=lines[-1].balance if lines else 5_000,
        lines=tuple(lines),
        generated_at=start,
    )


def test_running_balance_and_csv() -> None:
    statement = _statement(4)
    assert [line.balance for line in statement.lines] == [4_750, 5_750, 6_750, 6_500]
    rows = list(csv.DictReader(io.StringIO(render_csv(statement))))
    assert rows[0]["type"] == "opening_balance"
    assert rows[0]["balance"] == "50.00"
    assert rows[1]["debit"] == "2.50"
    assert rows[2]["credit"] == "10.00"
    assert rows[-1]["type"] == "closing_balance"
    assert rows[-1]["balance"] == "65.00"
    assert len(rows) == 6


def _page_count(pdf: bytes) -> int:
    counts = re.findall(rb"/Type /Pages\s*/Kids \[[^\]]*\]\s*/Count (\d+)", pdf)
    if not counts:
        counts = re.findall(rb"/Count (\d+)", pdf)
    return int(counts[0])


def test_pdf_paginates() -> None:
    short = render_pdf(_statement(3))
    long = render_pdf(_statement(200))
    assert short.startswith(b"%PDF-")
    assert _page_count(short) == 1
    assert _page_count(long) > 2


def test_interest_arithmetic() -> None:
    # 1,00,000.00 at 3.65% for one day = 10.00 exactly.
    assert daily_accrual(balance=100_000_00, annual_rate=Decimal("3.65")) == Decimal("1000")
    assert daily_accrual(balance=-5, annual_rate=Decimal("3.5")) == 0
    one_day = daily_accrual(balance=1_001, annual_rate=Decimal("3.5"))
    assert one_day == Decimal("0.095986")
    whole, carry = split_credit(accrued=one_day * 31, carried=Decimal("0.5"))
    assert (whole, carry) == (3, Decimal("0.475566"))
    assert is_month_end(date(2024, 2, 29)) and not is_month_end(date(2023, 2, 27))
