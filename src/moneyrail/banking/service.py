"""Banking rules shared by every banking service, and the branch, customer and settings services.

The domain errors of banking live at the top of this module; bank accounts are in
`accounts_service.py`, loans in `loans_service.py` and the interest job in `interest_service.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.banking import schemas
from moneyrail.banking.interest import DEFAULT_SAVINGS_RATE_PERCENT
from moneyrail.banking.models import Branch, Customer
from moneyrail.banking.repository import repository
from moneyrail.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.outbox import emit
from moneyrail.core.pagination import PageParams, make_page

log = structlog.get_logger(__name__)


class BranchNotFound(NotFound):
    code = "branch_not_found"
    title = "Branch not found"


class BranchExists(Conflict):
    code = "branch_exists"
    title = "A branch with this code exists"


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    title = "Customer not found"


class CustomerExists(Conflict):
    code = "customer_exists"
    title = "A customer with this e-mail exists"


class CustomerNotActive(Unprocessable):
    code = "customer_not_active"
    title = "The customer is not active"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Bank account not found"


class AccountFrozen(Unprocessable):
    code = "account_frozen"
    title = "The account is frozen"


class AccountClosed(Unprocessable):
    code = "account_closed"
    title = "The account is closed"


class AccountBalanceNotZero(Unprocessable):
    code = "account_balance_not_zero"
    title = "The account balance is not zero"


class InvalidStatusTransition(Unprocessable):
    code = "invalid_status_transition"
    title = "Status change not allowed"


class SameAccountTransfer(Unprocessable):
    code = "same_account_transfer"
    title = "Source and destination are the same account"


class OverdraftNotAllowed(Unprocessable):
    code = "overdraft_not_allowed"
    title = "Overdraft not allowed for this account type"


class InvalidStatementRange(Unprocessable):
    code = "invalid_statement_range"
    title = "Invalid statement period"


class StatementTooLarge(Unprocessable):
    code = "statement_too_large"
    title = "Too many transactions for one statement"


class AccountNumbersExhausted(Conflict):
    code = "account_numbers_exhausted"
    title = "No account numbers left today"


class LoanNotFound(NotFound):
    code = "loan_not_found"
    title = "Loan not found"


class InvalidLoanTerms(Unprocessable):
    code = "invalid_loan_terms"
    title = "Invalid loan terms"


class InvalidLoanStatus(Unprocessable):
    code = "invalid_loan_status"
    title = "The loan is not in a state that allows this"


class MakerCheckerViolation(Forbidden):
    code = "maker_checker_violation"
    title = "The creator of a loan cannot decide on it"


class RepaymentExceedsOutstanding(Unprocessable):
    code = "repayment_exceeds_outstanding"
    title = "Repayment exceeds the amount outstanding"


# --- shared helpers ----------------------------------------------------------------------------


async def record(
    session: AsyncSession,
    *,
    subject: AuthSubject | None,
    tenant_id: str,
    action: str,
    target_type: str,
    target_id: str,
    event: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Audit a mutation and, when `event` is given, emit it through the outbox."""
    await audit.record(
        session,
        subject=subject,
        tenant_id=tenant_id,
        action=f"banking.{action}",
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    if event is not None:
        await emit(
            session, tenant_id=tenant_id, type=event, data={"id": target_id, **(after or {})}
        )


def _is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "unique" in str(exc.orig).lower()


class BankingService:
    # --- branches -----------------------------------------------------------------------------

    async def create_branch(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.BranchCreate
    ) -> Branch:
        """Raises:
        BranchExists: the tenant already has a branch with this code.
        """
        tenant_id = subject.tenant_id
        if await repository.branch_by_code(session, tenant_id, data.code) is not None:
            raise BranchExists(f"branch {data.code} already exists")
        branch = Branch(tenant_id=tenant_id, id=new_id("br"), **data.model_dump())
        try:
            async with session.begin_nested():
                await repository.add(session, branch)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise BranchExists(f"branch {data.code} already exists") from exc
            raise
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="branch.created",
            target_type="bank_branch",
            target_id=branch.id,
            after={"code": branch.code, "ifsc": branch.ifsc},
        )
        return branch

    async def list_branches(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams
    ) -> tuple[list[Branch], str | None]:
        rows = await repository.branches(session, tenant_id, params)
        return make_page(rows, params, lambda row: row.id)

    async def branch(self, session: AsyncSession, *, tenant_id: str, code: str) -> Branch:
        """Raises:
        BranchNotFound: no branch with this code.
        """
        branch = await repository.branch_by_code(session, tenant_id, code)
        if branch is None:
            raise BranchNotFound(f"no branch {code}")
        return branch

    # --- customers ----------------------------------------------------------------------------

    async def create_customer(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.CustomerCreate
    ) -> Customer:
        """Raises:
        CustomerExists: another customer of the tenant has this e-mail address.
        """
        tenant_id = subject.tenant_id
        await self._check_email_free(session, tenant_id, data.email, exclude_id=None)
        customer = Customer(
            tenant_id=tenant_id,
            id=new_id("cus"),
            created_by=subject.actor_id,
            **data.model_dump(mode="python"),
        )
        await self._save_customer(session, customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.created",
            target_type="bank_customer",
            target_id=customer.id,
            event="customer.created",
            after={"kyc_status": customer.kyc_status, "status": customer.status},
        )
        return customer

    async def customer(
        self, session: AsyncSession, *, tenant_id: str, customer_id: str
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer in this tenant.
        """
        customer = await repository.customer(session, tenant_id, customer_id)
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        return customer

    async def update_customer(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        customer_id: str,
        data: schemas.CustomerUpdate,
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer. CustomerExists: the new e-mail is taken.
        """
        tenant_id = subject.tenant_id
        customer = await repository.customer(session, tenant_id, customer_id, lock="update")
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        changes = data.model_dump(mode="python", exclude_unset=True)
        for required in ("first_name", "last_name", "country", "kyc_status"):
            if changes.get(required, "") is None:
                changes.pop(required)
        if changes.get("email"):
            await self._check_email_free(
                session, tenant_id, changes["email"], exclude_id=customer.id
            )
        before = {key: _plain(getattr(customer, key)) for key in changes}
        for key, value in changes.items():
            setattr(customer, key, value)
        await self._save_customer(session, customer)
        await session.refresh(customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.updated",
            target_type="bank_customer",
            target_id=customer.id,
            before=before,
            after={key: _plain(value) for key, value in changes.items()},
        )
        return customer

    async def set_customer_status(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        customer_id: str,
        data: schemas.CustomerStatusUpdate,
    ) -> Customer:
        """Raises:
        CustomerNotFound: no such customer.
        """
        tenant_id = subject.tenant_id
        customer = await repository.customer(session, tenant_id, customer_id, lock="update")
        if customer is None:
            raise CustomerNotFound(f"no customer {customer_id}")
        before = {"status": customer.status}
        customer.status = data.status.value
        customer.status_reason = data.reason
        await session.flush()
        await session.refresh(customer)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="customer.status_changed",
            target_type="bank_customer",
            target_id=customer.id,
            event="customer.status_changed",
            before=before,
            after={"status": customer.status, "reason": data.reason},
        )
        return customer

    async def search_customers(
        self, session: AsyncSession, *, tenant_id: str, params: PageParams, query: str | None
    ) -> tuple[list[Customer], str | None]:
        """Substring matches on name, e-mail and phone; when there are none at all, the closest
        near misses (typos) instead, best first, on one page."""
        rows = await repository.customers(session, tenant_id, params, query=query)
        if query and not rows and params.cursor is None:
            similar = await repository.similar_customers(
                session, tenant_id, query, limit=params.limit
            )
            return list(similar), None
        return make_page(rows, params, lambda row: row.id)

    async def _check_email_free(
        self, session: AsyncSession, tenant_id: str, email: str | None, *, exclude_id: str | None
    ) -> None:
        if not email:
            return
        existing = await repository.customer_by_email(session, tenant_id, email)
        if existing is not None and existing.id != exclude_id:
            raise CustomerExists("another customer has this e-mail address")

    async def _save_customer(self, session: AsyncSession, customer: Customer) -> None:
        try:
            async with session.begin_nested():
                await repository.add(session, customer)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise CustomerExists("another customer has this e-mail address") from exc
            raise

    # --- settings -----------------------------------------------------------------------------

    async def savings_rate(self, session: AsyncSession, *, tenant_id: str) -> Decimal:
        settings = await repository.settings(session, tenant_id)
        return settings.savings_rate if settings is not None else DEFAULT_SAVINGS_RATE_PERCENT

    async def settings(self, session: AsyncSession, *, tenant_id: str) -> schemas.BankSettingsOut:
        row = await repository.settings(session, tenant_id)
        if row is None:
            return schemas.BankSettingsOut(
                savings_rate=DEFAULT_SAVINGS_RATE_PERCENT, updated_at=None
            )
        return schemas.BankSettingsOut(savings_rate=row.savings_rate, updated_at=row.updated_at)

    async def update_settings(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.BankSettingsIn
    ) -> schemas.BankSettingsOut:
        before = await self.savings_rate(session, tenant_id=subject.tenant_id)
        row = await repository.save_settings(
            session, subject.tenant_id, savings_rate=data.savings_rate, actor_id=subject.actor_id
        )
        await record(
            session,
            subject=subject,
            tenant_id=subject.tenant_id,
            action="settings.updated",
            target_type="bank_settings",
            target_id=subject.tenant_id,
            before={"savings_rate": str(before)},
            after={"savings_rate": str(row.savings_rate)},
        )
        return schemas.BankSettingsOut(savings_rate=row.savings_rate, updated_at=row.updated_at)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def page_of(rows: Sequence[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"data": list(rows), "next_cursor": next_cursor}


banking = BankingService()
