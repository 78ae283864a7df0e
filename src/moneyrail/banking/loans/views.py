"""Reading loans: the loan with what is outstanding, due and overdue, and its schedule.

The outstanding principal comes from the loan's ledger account; the schedule says how it
falls due. The two must agree, and that is checked on every read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.models import BankAccount
from moneyrail.banking.accounts.movements import account_by_id
from moneyrail.banking.loans import amortization, schemas
from moneyrail.banking.loans.errors import LoanNotFound
from moneyrail.banking.loans.models import Loan, LoanInstallment
from moneyrail.banking.loans.repository import repository
from moneyrail.banking.shared import Lock
from moneyrail.core.errors import invariant
from moneyrail.core.money import MoneyModel
from moneyrail.core.pagination import PageParams, make_page
from moneyrail.ledger.service import ledger


def due_of(item: LoanInstallment) -> int:
    return item.principal - item.principal_paid + item.interest - item.interest_paid


async def load_loan(
    session: AsyncSession, tenant_id: str, loan_id: str, *, lock: Lock = None
) -> Loan:
    """Raises: LoanNotFound."""
    loan = await repository.loan(session, tenant_id, loan_id, lock=lock)
    if loan is None:
        raise LoanNotFound(f"no loan {loan_id}")
    return loan


async def loan_account(session: AsyncSession, loan: Loan, *, lock: Lock = None) -> BankAccount:
    """The loan's repayment account. Raises: AccountNotFound."""
    return await account_by_id(
        session, tenant_id=loan.tenant_id, account_id=loan.account_id, lock=lock
    )


async def outstanding_principal(session: AsyncSession, loan: Loan) -> int:
    """The principal still owed, from the loan's ledger account (zero before disbursement)."""
    if loan.ledger_account_id is None:
        return 0
    balances = await ledger.balances(
        session, tenant_id=loan.tenant_id, account_id=loan.ledger_account_id
    )
    return balances.posted


class LoanViews:
    async def get(self, session: AsyncSession, *, tenant_id: str, loan_id: str) -> schemas.LoanOut:
        """Raises:
        LoanNotFound.
        """
        return await self.out(session, await load_loan(session, tenant_id, loan_id))

    async def list_loans(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        params: PageParams,
        customer_id: str | None,
        status: str | None,
    ) -> tuple[list[schemas.LoanOut], str | None]:
        rows = await repository.loans(
            session, tenant_id, params, customer_id=customer_id, status=status
        )
        items, cursor = make_page(rows, params, lambda row: row.id)
        return [await self.out(session, row) for row in items], cursor

    async def schedule(
        self, session: AsyncSession, *, tenant_id: str, loan_id: str
    ) -> schemas.ScheduleOut:
        """The repayment schedule: fixed at disbursement, projected from today until then.

        Raises:
            LoanNotFound.
        """
        loan = await load_loan(session, tenant_id, loan_id)
        stored = await repository.installments(session, tenant_id, loan.id)
        today = datetime.now(UTC).date()
        if not stored:
            plan = amortization.schedule(
                principal=loan.principal,
                annual_rate=loan.annual_rate,
                tenure_months=loan.tenure_months,
                first_due_date=amortization.add_months(today, 1),
            )
            stored = [
                LoanInstallment(
                    number=item.number,
                    due_date=item.due_date,
                    principal=item.principal,
                    interest=item.interest,
                    principal_paid=0,
                    interest_paid=0,
                )
                for item in plan.installments
            ]

        def money(amount: int) -> MoneyModel:
            return MoneyModel(amount=amount, currency=loan.currency)

        rows: list[schemas.InstallmentOut] = []
        balance = loan.principal
        for item in stored:
            rows.append(
                schemas.InstallmentOut(
                    number=item.number,
                    due_date=item.due_date,
                    opening_balance=money(balance),
                    payment=money(item.principal + item.interest),
                    principal=money(item.principal),
                    interest=money(item.interest),
                    closing_balance=money(balance - item.principal),
                    principal_paid=money(item.principal_paid),
                    interest_paid=money(item.interest_paid),
                    status=self._installment_status(item, today),
                )
            )
            balance -= item.principal
        invariant(balance == 0, "a loan schedule closes at zero")
        total_interest = sum(item.interest for item in stored)
        return schemas.ScheduleOut(
            loan_id=loan.id,
            projected=loan.first_due_date is None,
            emi=money(loan.emi),
            total_interest=money(total_interest),
            total_payment=money(loan.principal + total_interest),
            installments=rows,
        )

    async def out(self, session: AsyncSession, loan: Loan) -> schemas.LoanOut:
        account = await loan_account(session, loan)
        installments = await repository.installments(session, loan.tenant_id, loan.id)
        today = datetime.now(UTC).date()

        def money(amount: int) -> MoneyModel:
            return MoneyModel(amount=amount, currency=loan.currency)

        unpaid = [item for item in installments if due_of(item) > 0]
        overdue = [item for item in unpaid if item.due_date < today]
        principal_left = await outstanding_principal(session, loan)
        invariant(
            principal_left == sum(item.principal - item.principal_paid for item in installments),
            "the ledger and the schedule agree on the outstanding principal",
        )
        next_item = unpaid[0] if unpaid else None
        return schemas.LoanOut(
            id=loan.id,
            customer_id=loan.customer_id,
            repayment_account_number=account.number,
            principal=money(loan.principal),
            annual_rate=loan.annual_rate,
            tenure_months=loan.tenure_months,
            emi=money(loan.emi),
            status=schemas.LoanStatus(loan.status),
            purpose=loan.purpose,
            created_by=loan.created_by,
            decided_by=loan.decided_by,
            decided_at=loan.decided_at,
            decision_note=loan.decision_note,
            disbursed_at=loan.disbursed_at,
            first_due_date=loan.first_due_date,
            closed_at=loan.closed_at,
            created_at=loan.created_at,
            outstanding_principal=money(principal_left),
            outstanding_interest=money(sum(i.interest - i.interest_paid for i in installments)),
            next_due=schemas.DueOut(
                number=next_item.number,
                due_date=next_item.due_date,
                amount_due=money(due_of(next_item)),
            )
            if next_item is not None
            else None,
            overdue=schemas.OverdueOut(
                installments=len(overdue),
                amount=money(sum(due_of(item) for item in overdue)),
                oldest_due_date=overdue[0].due_date if overdue else None,
            ),
        )

    @staticmethod
    def _installment_status(item: LoanInstallment, today: date) -> Any:
        if due_of(item) == 0:
            return "paid"
        if item.due_date < today:
            return "overdue"
        return "partially_paid" if item.principal_paid or item.interest_paid else "due"


loan_views = LoanViews()
