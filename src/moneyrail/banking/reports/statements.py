"""Account statements: running balances, and rendering as CSV or PDF (fpdf2).

Amounts stay integer minor units until rendering; CSV and PDF show major units with the
currency's exponent (`1234.50`) so spreadsheets and people read them directly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fpdf import FPDF

from moneyrail.core.exports import text_cell
from moneyrail.core.money import exponent

CSV_COLUMNS = ("date", "transaction_id", "type", "description", "debit", "credit", "balance")
_PDF_FONT = "Helvetica"
# Core PDF fonts cover Latin-1 only; other characters print as "?".
_PDF_ENCODING = "latin-1"


@dataclass(frozen=True, slots=True)
class Movement:
    """One transaction as seen from the account: a signed amount (credit +, debit -)."""

    transaction_id: str
    created_at: datetime
    kind: str
    description: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class StatementLine:
    transaction_id: str
    created_at: datetime
    kind: str
    description: str | None
    debit: int
    credit: int
    balance: int


@dataclass(frozen=True, slots=True)
class Statement:
    account_number: str
    account_type: str
    customer_name: str
    currency: str
    period_from: date
    period_to: date
    opening_balance: int
    closing_balance: int
    lines: tuple[StatementLine, ...]
    generated_at: datetime

    @property
    def total_debits(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def total_credits(self) -> int:
        return sum(line.credit for line in self.lines)


def running_lines(opening_balance: int, movements: Iterable[Movement]) -> list[StatementLine]:
    """Lines in the given order, each with the balance after it."""
    balance = opening_balance
    lines: list[StatementLine] = []
    for movement in movements:
        balance += movement.amount
        lines.append(
            StatementLine(
                transaction_id=movement.transaction_id,
                created_at=movement.created_at,
                kind=movement.kind,
                description=movement.description,
                debit=-movement.amount if movement.amount < 0 else 0,
                credit=movement.amount if movement.amount > 0 else 0,
                balance=balance,
            )
        )
    return lines


def format_amount(minor: int, currency: str) -> str:
    digits = exponent(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def render_csv(statement: Statement) -> str:
    """One row per line between an opening-balance and a closing-balance row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    money = statement.currency
    writer.writerow(
        [
            statement.period_from.isoformat(),
            "",
            "opening_balance",
            "Opening balance",
            "",
            "",
            format_amount(statement.opening_balance, money),
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                line.created_at.isoformat(),
                line.transaction_id,
                line.kind,
                text_cell(line.description),
                format_amount(line.debit, money) if line.debit else "",
                format_amount(line.credit, money) if line.credit else "",
                format_amount(line.balance, money),
            ]
        )
    writer.writerow(
        [
            statement.period_to.isoformat(),
            "",
            "closing_balance",
            "Closing balance",
            format_amount(statement.total_debits, money),
            format_amount(statement.total_credits, money),
            format_amount(statement.closing_balance, money),
        ]
    )
    return out.getvalue()


def _latin1(text: str) -> str:
    return text.encode(_PDF_ENCODING, errors="replace").decode(_PDF_ENCODING)


def render_pdf(statement: Statement) -> bytes:
    """A paginated A4 statement: header, summary, and a table whose heading repeats per page."""
    money = statement.currency
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(_latin1(f"Statement {statement.account_number}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(_PDF_FONT, style="B", size=14)
    pdf.cell(0, 8, "Account statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_PDF_FONT, size=9)
    header = [
        f"Account: {statement.account_number} ({statement.account_type}, {money})",
        f"Customer: {statement.customer_name}",
        f"Period: {statement.period_from.isoformat()} to {statement.period_to.isoformat()}",
        f"Opening balance: {format_amount(statement.opening_balance, money)}",
        f"Closing balance: {format_amount(statement.closing_balance, money)}",
        f"Total debits: {format_amount(statement.total_debits, money)}    "
        f"Total credits: {format_amount(statement.total_credits, money)}",
        f"Generated: {statement.generated_at.isoformat(timespec='seconds')}",
    ]
    for text in header:
        pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_PDF_FONT, size=8)
    with pdf.table(
        col_widths=(26, 40, 22, 46, 18, 18, 20),
        text_align=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        repeat_headings=1,
        line_height=4.5,
    ) as table:
        heading = table.row()
        for title in ("Date", "Transaction", "Type", "Description", "Debit", "Credit", "Balance"):
            heading.cell(title)
        for line in statement.lines:
            row = table.row()
            row.cell(line.created_at.strftime("%Y-%m-%d %H:%M"))
            row.cell(line.transaction_id)
            row.cell(line.kind)
            row.cell(_latin1(line.description or ""))
            row.cell(format_amount(line.debit, money) if line.debit else "")
            row.cell(format_amount(line.credit, money) if line.credit else "")
            row.cell(format_amount(line.balance, money))
    return bytes(pdf.output())
