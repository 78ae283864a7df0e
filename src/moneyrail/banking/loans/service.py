"""Loans: application, maker-checker approval, disbursement, schedule and repayments.

A disbursed loan is an `asset` ledger account of its own (the bank's receivable), limited
to a non-negative balance, so the outstanding principal is read from the ledger and can
never be repaid twice. Repayments post one three-leg entry: the customer's account pays,
interest income and the receivable take their shares.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.accounts.errors import AccountClosed
from moneyrail.banking.accounts.movements import account_by_number, ledger_ref, movements
from moneyrail.banking.customers.service import CustomerNotActive, customers
from moneyrail.banking.loans import amortization, schemas
from moneyrail.banking.loans.errors import (
    InvalidLoanStatus,
    InvalidLoanTerms,
    MakerCheckerViolation,
    RepaymentExceedsOutstanding,
)
from moneyrail.banking.loans.models import Loan, LoanInstallment, LoanRepayment
from moneyrail.banking.loans.repository import repository
from moneyrail.banking.loans.views import (
    due_of,
    load_loan,
    loan_account,
    loan_views,
    outstanding_principal,
)
from moneyrail.banking.shared import record
from moneyrail.core.errors import invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money, MoneyModel
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit, Direction, Posting

log = structlog.get_logger(__name__)


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
        customer = await customers.customer(
            session, tenant_id=tenant_id, customer_id=data.customer_id
        )
        if customer.status != "active":
            raise CustomerNotActive(f"customer {customer.id} is {customer.status}")
        account = await account_by_number(
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
        return await loan_views.out(session, loan)

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
        loan = await load_loan(session, subject.tenant_id, loan_id, lock="update")
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
        return await loan_views.out(session, loan)

    async def disburse(
        self, session: AsyncSession, *, subject: AuthSubject, loan_id: str
    ) -> schemas.LoanOut:
        """Pay an approved loan into the repayment account and fix its schedule.

        Raises:
            LoanNotFound, InvalidLoanStatus, AccountClosed.
        """
        tenant_id = subject.tenant_id
        loan = await load_loan(session, tenant_id, loan_id, lock="update")
        if loan.status != "approved":
            raise InvalidLoanStatus(f"loan {loan.id} is {loan.status}; only approved loans pay out")
        account = await loan_account(session, loan, lock="share")
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
        await movements.move(
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
        return await loan_views.out(session, loan)

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
        loan = await load_loan(session, tenant_id, loan_id, lock="update")
        if loan.status != "disbursed":
            raise InvalidLoanStatus(f"loan {loan.id} is {loan.status}")
        amount = data.amount.to_money()
        if amount.currency != loan.currency:
            raise CurrencyMismatch(f"loan {loan.id} is in {loan.currency}")
        installments = await repository.installments(session, tenant_id, loan.id)
        outstanding = sum(due_of(item) for item in installments)
        if amount.amount > outstanding:
            raise RepaymentExceedsOutstanding(
                f"at most {outstanding} minor units are outstanding on loan {loan.id}"
            )
        account = await loan_account(session, loan, lock="share")
        movements.check_status(account, debit=True)
        now = datetime.now(UTC)
        shares = amortization.allocate(
            [
                amortization.Due(
                    interest=item.interest - item.interest_paid,
                    principal=item.principal - item.principal_paid,
                )
                for item in installments
            ],
            amount.amount,
        )
        for item, share in zip(installments, shares, strict=True):
            item.interest_paid += share.interest
            item.principal_paid += share.principal
            if share.total and due_of(item) == 0:
                item.paid_at = now
        interest_part = sum(share.interest for share in shares)
        principal_part = sum(share.principal for share in shares)
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
        await movements.journal(
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
        remaining = await outstanding_principal(session, loan)
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
