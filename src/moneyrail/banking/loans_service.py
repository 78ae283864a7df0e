"""Loans: application, maker-checker approval, disbursement, schedule and repayments.

A disbursed loan is an `asset` ledger account of its own (the bank's receivable), limited
to a non-negative balance, so the outstanding principal is read from the ledger and can
never be repaid twice. Repayments post one three-leg entry: the customer's account pays,
interest income and the receivable take their shares.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking import amortization, schemas
from moneyrail.banking.accounts_service import accounts, ledger_ref
from moneyrail.banking.models import BankAccount, Loan, LoanInstallment, LoanRepayment
from moneyrail.banking.repository import repository
from moneyrail.banking.service import (
    AccountClosed,
    AccountNotFound,
    CustomerNotActive,
    InvalidLoanStatus,
    InvalidLoanTerms,
    LoanNotFound,
    MakerCheckerViolation,
    RepaymentExceedsOutstanding,
    banking,
    record,
)
from moneyrail.core.errors import invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money, MoneyModel
from moneyrail.core.pagination import PageParams, make_page
from moneyrail.identity.subject import AuthSubject
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit, Direction, Posting

log = structlog.get_logger(__name__)


def _due(item: LoanInstallment) -> int:
    return item.principal - item.principal_paid + item.interest - item.interest_paid


class LoansService:
    async def create(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.LoanCreate
    ) -> schemas.LoanOut:
        """Apply for a loan; it waits for an approver other than its creator.

        Raises:
            CustomerNotFound, CustomerNotActive, AccountNotFound, AccountClosed,
            CurrencyMismatch, InvalidLoanTerms.
        """
        tenant_id = subject.tenant_id
        customer = await banking.customer(
            session, tenant_id=tenant_id, customer_id=data.customer_id
        )
        if customer.status != "active":
            raise CustomerNotActive(f"customer {customer.id} is {customer.status}")
        account = await accounts.get(
            session, tenant_id=tenant_id, number=data.repayment_account_number
        )
        if account.customer_id != customer.id:
            raise InvalidLoanTerms("the repayment account must belong to the borrower")
        if account.status == "closed":
            raise AccountClosed(f"account {account.number} is closed")
        principal = data.principal.to_money()
        if principal.currency != account.currency:
            raise CurrencyMismatch(f"account {account.number} holds {account.currency}")
        try:
            emi = amortization.emi(
                principal=principal.amount,
                annual_rate=data.annual_rate,
                tenure_months=data.tenure_months,
            )
        except amortization.ScheduleInputError as exc:
            raise InvalidLoanTerms(str(exc)) from exc
        loan = Loan(
            tenant_id=tenant_id,
            id=new_id("loan"),
            customer_id=customer.id,
            account_id=account.id,
            principal=principal.amount,
            currency=principal.currency,
            annual_rate=data.annual_rate,
            tenure_months=data.tenure_months,
            emi=emi,
            status="pending_approval",
            purpose=data.purpose,
            created_by=subject.actor_id,
        )
        await repository.add(session, loan)
        await session.refresh(loan)
        await self._record(session, subject, loan, "created", after=self._summary(loan))
        return await self.out(session, loan)

    async def decide(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        loan_id: str,
        approve: bool,
        data: schemas.LoanDecision,
    ) -> schemas.LoanOut:
        """Approve or reject a pending loan (maker-checker).

        Raises:
            LoanNotFound, InvalidLoanStatus,
            MakerCheckerViolation: the approver is the loan's creator.
        """
        loan = await self._loan(session, subject.tenant_id, loan_id, lock="update")
        if loan.status != "pending_approval":
            raise InvalidLoanStatus(f"loan {loan.id} is {loan.status}")
        if subject.actor_id == loan.created_by:
            raise MakerCheckerViolation("another administrator must decide on this loan")
        loan.status = "approved" if approve else "rejected"
        loan.decided_by = subject.actor_id
        loan.decided_at = datetime.now(UTC)
        loan.decision_note = data.note
        await session.flush()
        await session.refresh(loan)
        await self._record(
            session,
            subject,
            loan,
            loan.status,
            before={"status": "pending_approval"},
            after={"status": loan.status, "note": data.note},
        )
        return await self.out(session, loan)

    async def disburse(
        self, session: AsyncSession, *, subject: AuthSubject, loan_id: str
    ) -> schemas.LoanOut:
        """Pay an approved loan into the repayment account and fix its schedule.

        Raises:
            LoanNotFound, InvalidLoanStatus, AccountClosed.
        """
        tenant_id = subject.tenant_id
        loan = await self._loan(session, tenant_id, loan_id, lock="update")
        if loan.status != "approved":
            raise InvalidLoanStatus(f"loan {loan.id} is {loan.status}; only approved loans pay out")
        account = await self._account(session, loan, lock="share")
        if account.status == "closed":
            raise AccountClosed(f"account {account.number} is closed")
        receivable = await ledger.create_account(
            session,
            tenant_id=tenant_id,
            code=f"banking:loan:{loan.id}",
            name=f"Loan {loan.id}",
            currency=loan.currency,
            kind=AccountKind.asset,
            balance_limit=BalanceLimit.non_negative(),
            metadata={"loan_id": loan.id, "customer_id": loan.customer_id},
        )
        await accounts.move(
            session,
            subject=subject,
            kind="loan_disbursement",
            debit=None,
            credit=account,
            debit_ledger_id=receivable.id,
            amount=Money(loan.principal, loan.currency),
            description=f"Loan {loan.id} disbursed",
            reference=loan.id,
        )
        now = datetime.now(UTC)
        plan = amortization.schedule(
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            tenure_months=loan.tenure_months,
            first_due_date=amortization.add_months(now.date(), 1),
        )
        await repository.add(
            session,
            *(
                LoanInstallment(
                    tenant_id=tenant_id,
                    loan_id=loan.id,
                    number=item.number,
                    due_date=item.due_date,
                    principal=item.principal,
                    interest=item.interest,
                    principal_paid=0,
                    interest_paid=0,
                )
                for item in plan.installments
            ),
        )
        loan.status = "disbursed"
        loan.disbursed_at = now
        loan.first_due_date = plan.installments[0].due_date
        loan.ledger_account_id = receivable.id
        await session.flush()
        await session.refresh(loan)
        await self._record(
            session,
            subject,
            loan,
            "disbursed",
            before={"status": "approved"},
            after={**self._summary(loan), "account_number": account.number},
        )
        return await self.out(session, loan)

    async def repay(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        loan_id: str,
        data: schemas.RepaymentIn,
    ) -> schemas.RepaymentOut:
        """Collect a repayment from the loan's account: due interest first, then principal,
        instalment by instalment in due order.

        Raises:
            LoanNotFound, InvalidLoanStatus, CurrencyMismatch, RepaymentExceedsOutstanding,
            AccountFrozen, AccountClosed, InsufficientFunds (from the ledger).
        """
        tenant_id = subject.tenant_id
        loan = await self._loan(session, tenant_id, loan_id, lock="update")
        if loan.status != "disbursed":
            raise InvalidLoanStatus(f"loan {loan.id} is {loan.status}")
        amount = data.amount.to_money()
        if amount.currency != loan.currency:
            raise CurrencyMismatch(f"loan {loan.id} is in {loan.currency}")
        installments = await repository.installments(session, tenant_id, loan.id)
        outstanding = sum(_due(item) for item in installments)
        if amount.amount > outstanding:
            raise RepaymentExceedsOutstanding(
                f"at most {outstanding} minor units are outstanding on loan {loan.id}"
            )
        account = await self._account(session, loan, lock="share")
        accounts.check_status(account, debit=True)
        now = datetime.now(UTC)
        interest_part, principal_part, left = 0, 0, amount.amount
        for item in installments:
            pay_interest = min(left, item.interest - item.interest_paid)
            left -= pay_interest
            pay_principal = min(left, item.principal - item.principal_paid)
            left -= pay_principal
            item.interest_paid += pay_interest
            item.principal_paid += pay_principal
            interest_part += pay_interest
            principal_part += pay_principal
            if _due(item) == 0 and item.paid_at is None:
                item.paid_at = now
            if left == 0:
                break
        invariant(interest_part + principal_part == amount.amount, "a repayment splits exactly")

        txn_id = new_id("btxn")
        entry_id = ledger_ref(txn_id)
        income = await ledger.system_account(
            session,
            tenant_id=tenant_id,
            code=f"banking:interest:income:{loan.currency}",
            name=f"Loan interest income {loan.currency}",
            currency=loan.currency,
            kind=AccountKind.income,
        )
        assert loan.ledger_account_id is not None
        postings = [Posting(account.ledger_account_id, Direction.debit, amount)]
        if interest_part:
            postings.append(
                Posting(income.id, Direction.credit, Money(interest_part, loan.currency))
            )
        if principal_part:
            postings.append(
                Posting(
                    loan.ledger_account_id, Direction.credit, Money(principal_part, loan.currency)
                )
            )
        await ledger.post_entry(
            session,
            tenant_id=tenant_id,
            entry_id=entry_id,
            postings=postings,
            description=f"Loan {loan.id} repayment",
            metadata={"bank_transaction_id": txn_id, "loan_id": loan.id},
        )
        await accounts.journal(
            session,
            subject=subject,
            tenant_id=tenant_id,
            txn_id=txn_id,
            kind="loan_repayment",
            debit=account,
            credit=None,
            amount=amount,
            description=f"Loan {loan.id} repayment",
            reference=loan.id,
            ledger_reference=entry_id,
        )
        repayment = LoanRepayment(
            tenant_id=tenant_id,
            id=new_id("lrep"),
            loan_id=loan.id,
            amount=amount.amount,
            principal=principal_part,
            interest=interest_part,
            currency=loan.currency,
            transaction_id=txn_id,
            created_by=subject.actor_id,
            created_at=now,
        )
        await repository.add(session, repayment)
        if outstanding == amount.amount:
            loan.status = "closed"
            loan.closed_at = now
        await session.flush()
        split = {"amount": amount.amount, "principal": principal_part, "interest": interest_part}
        await self._record(
            session, subject, loan, "repaid", after={**split, "repayment_id": repayment.id}
        )
        if loan.status == "closed":
            await self._record(session, subject, loan, "closed", after={"status": "closed"})
        remaining = await self._outstanding_principal(session, loan)
        return schemas.RepaymentOut(
            id=repayment.id,
            loan_id=loan.id,
            amount=MoneyModel.of(amount),
            principal=MoneyModel(amount=principal_part, currency=loan.currency),
            interest=MoneyModel(amount=interest_part, currency=loan.currency),
            transaction_id=txn_id,
            created_at=now,
            loan_status=schemas.LoanStatus(loan.status),
            outstanding_principal=MoneyModel(amount=remaining, currency=loan.currency),
        )

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, *, tenant_id: str, loan_id: str) -> schemas.LoanOut:
        """Raises:
        LoanNotFound.
        """
        return await self.out(session, await self._loan(session, tenant_id, loan_id))

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
        loan = await self._loan(session, tenant_id, loan_id)
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
        account = await self._account(session, loan)
        installments = await repository.installments(session, loan.tenant_id, loan.id)
        today = datetime.now(UTC).date()

        def money(amount: int) -> MoneyModel:
            return MoneyModel(amount=amount, currency=loan.currency)

        unpaid = [item for item in installments if _due(item) > 0]
        overdue = [item for item in unpaid if item.due_date < today]
        principal_left = await self._outstanding_principal(session, loan)
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
                amount_due=money(_due(next_item)),
            )
            if next_item is not None
            else None,
            overdue=schemas.OverdueOut(
                installments=len(overdue),
                amount=money(sum(_due(item) for item in overdue)),
                oldest_due_date=overdue[0].due_date if overdue else None,
            ),
        )

    # --- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _installment_status(item: LoanInstallment, today: date) -> Any:
        if _due(item) == 0:
            return "paid"
        if item.due_date < today:
            return "overdue"
        return "partially_paid" if item.principal_paid or item.interest_paid else "due"

    async def _outstanding_principal(self, session: AsyncSession, loan: Loan) -> int:
        if loan.ledger_account_id is None:
            return 0
        balances = await ledger.balances(
            session, tenant_id=loan.tenant_id, account_id=loan.ledger_account_id
        )
        return balances.posted

    async def _loan(
        self, session: AsyncSession, tenant_id: str, loan_id: str, *, lock: Any = None
    ) -> Loan:
        loan = await repository.loan(session, tenant_id, loan_id, lock=lock)
        if loan is None:
            raise LoanNotFound(f"no loan {loan_id}")
        return loan

    async def _account(self, session: AsyncSession, loan: Loan, *, lock: Any = None) -> BankAccount:
        account = await repository.account_by_id(
            session, loan.tenant_id, loan.account_id, lock=lock
        )
        if account is None:
            raise AccountNotFound(f"no account {loan.account_id}")
        return account

    @staticmethod
    def _summary(loan: Loan) -> dict[str, Any]:
        return {
            "customer_id": loan.customer_id,
            "principal": loan.principal,
            "currency": loan.currency,
            "annual_rate": str(loan.annual_rate),
            "tenure_months": loan.tenure_months,
            "emi": loan.emi,
            "status": loan.status,
        }

    async def _record(
        self,
        session: AsyncSession,
        subject: AuthSubject,
        loan: Loan,
        what: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await record(
            session,
            subject=subject,
            tenant_id=loan.tenant_id,
            action=f"loan.{what}",
            target_type="bank_loan",
            target_id=loan.id,
            event=f"loan.{what}",
            before=before,
            after=after,
        )
        log.info("banking.loan", tenant_id=loan.tenant_id, loan_id=loan.id, action=what)


loans = LoansService()
