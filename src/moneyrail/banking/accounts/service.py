"""Bank accounts backed by ledger accounts: opening, reading, freezing and closing."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.accounts import schemas
from moneyrail.banking.accounts.errors import (
    AccountBalanceNotZero,
    AccountClosed,
    AccountNotFound,
    AccountNumbersExhausted,
    InvalidStatusTransition,
    OverdraftNotAllowed,
)
from moneyrail.banking.accounts.models import BankAccount
from moneyrail.banking.accounts.movements import (
    account_by_number,
    balance_of,
    cash_account_id,
    movements,
)
from moneyrail.banking.accounts.repository import repository
from moneyrail.banking.branches.service import branches
from moneyrail.banking.customers.service import CustomerNotActive, customers
from moneyrail.banking.shared import record
from moneyrail.core import limits
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, InvalidAmount
from moneyrail.core.pagination import PageParams, make_page
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind, BalanceLimit

log = structlog.get_logger(__name__)

ACCOUNT_STATUS_TRANSITIONS = {
    "active": {"frozen", "closed"},
    "frozen": {"active", "closed"},
    "closed": set[str](),
}
STATUS_EVENTS = {
    "frozen": "account.frozen",
    "active": "account.unfrozen",
    "closed": "account.closed",
}


class AccountsService:
    async def open(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.AccountOpen
    ) -> schemas.AccountOut:
        """Raises:
        CustomerNotFound, CustomerNotActive, BranchNotFound, OverdraftNotAllowed,
        CurrencyMismatch, InvalidAmount, AccountNumbersExhausted.
        """
        tenant_id = subject.tenant_id
        customer = await customers.customer(
            session, tenant_id=tenant_id, customer_id=data.customer_id, lock="share"
        )
        if customer.status != "active":
            raise CustomerNotActive(f"customer {customer.id} is {customer.status}")
        ifsc = data.ifsc_code
        if data.branch_code is not None:
            branch = await branches.branch(session, tenant_id=tenant_id, code=data.branch_code)
            ifsc = ifsc or branch.ifsc
        if data.overdraft_limit and data.account_type is not schemas.AccountType.CURRENT:
            raise OverdraftNotAllowed("only CURRENT accounts may have an overdraft")
        deposit = data.initial_deposit.to_money() if data.initial_deposit else None
        if deposit is not None:
            if deposit.currency != data.currency:
                raise CurrencyMismatch(f"the account is in {data.currency}")
            if deposit.amount < 0:
                raise InvalidAmount("the initial deposit may not be negative")

        today = datetime.now(UTC).date()
        sequence = await repository.next_account_sequence(session, tenant_id, today)
        if sequence > limits.account_numbers_per_day_max:
            raise AccountNumbersExhausted("try again tomorrow")
        number = f"AC-{today:%Y%m%d}-{sequence:06d}"
        account_id = new_id("bacc")
        limit = (
            BalanceLimit.overdraft(data.overdraft_limit)
            if data.overdraft_limit
            else BalanceLimit.non_negative()
        )
        ledger_account = await ledger.create_account(
            session,
            tenant_id=tenant_id,
            code=f"banking:account:{number}",
            name=f"{data.account_type.value} {number}",
            currency=data.currency,
            kind=AccountKind.liability,
            balance_limit=limit,
            metadata={"bank_account_id": account_id, "customer_id": customer.id},
        )
        account = BankAccount(
            tenant_id=tenant_id,
            id=account_id,
            number=number,
            customer_id=customer.id,
            account_type=data.account_type.value,
            currency=data.currency,
            status="active",
            branch_code=data.branch_code,
            ifsc_code=ifsc,
            ledger_account_id=ledger_account.id,
            overdraft_limit=data.overdraft_limit,
            created_by=subject.actor_id,
        )
        await repository.add(session, account)
        await session.refresh(account)
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action="account.opened",
            target_type="bank_account",
            target_id=account.id,
            event="account.opened",
            after={
                "number": number,
                "customer_id": customer.id,
                "account_type": account.account_type,
                "currency": account.currency,
            },
        )
        if deposit is not None and deposit.amount > 0:
            cash = await cash_account_id(session, tenant_id=tenant_id, currency=deposit.currency)
            await movements.move(
                session,
                subject=subject,
                kind="deposit",
                debit=None,
                credit=account,
                debit_ledger_id=cash,
                amount=deposit,
                description="Initial deposit",
            )
        log.info("banking.account_opened", tenant_id=tenant_id, account_id=account.id)
        return await self.out(session, account)

    async def get(self, session: AsyncSession, *, tenant_id: str, number: str) -> BankAccount:
        """Raises:
        AccountNotFound: no account with this number in the tenant.
        """
        return await account_by_number(session, tenant_id=tenant_id, number=number)

    async def out(self, session: AsyncSession, account: BankAccount) -> schemas.AccountOut:
        balance = await balance_of(session, account)
        return schemas.AccountOut.model_validate(account).model_copy(update={"balance": balance})

    async def balance_of(self, session: AsyncSession, account: BankAccount) -> schemas.BalanceOut:
        return await balance_of(session, account)

    async def of_customer(
        self, session: AsyncSession, *, tenant_id: str, customer_id: str, params: PageParams
    ) -> tuple[list[schemas.AccountOut], str | None]:
        """Raises:
        CustomerNotFound: no such customer.
        """
        await customers.customer(session, tenant_id=tenant_id, customer_id=customer_id)
        rows = await repository.accounts_of_customer(session, tenant_id, customer_id, params)
        items, cursor = make_page(rows, params, lambda row: row.id)
        return [await self.out(session, row) for row in items], cursor

    # --- money movements ----------------------------------------------------------------------

    async def set_status(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        number: str,
        data: schemas.AccountStatusUpdate,
    ) -> schemas.AccountOut:
        """Freeze, unfreeze or close an account.

        Raises:
            AccountNotFound, InvalidStatusTransition, AccountClosed,
            AccountBalanceNotZero: closing an account that still holds or owes money.
        """
        account = await repository.account_by_number(
            session, subject.tenant_id, number, lock="update"
        )
        if account is None:
            raise AccountNotFound(f"no account {number}")
        new, old = data.status.value, account.status
        if new == old:
            return await self.out(session, account)
        if old == "closed":
            raise AccountClosed(f"account {number} is closed")
        if new not in ACCOUNT_STATUS_TRANSITIONS[old]:
            raise InvalidStatusTransition(f"an account cannot go from {old} to {new}")
        closed_at = None
        if new == "closed":
            loan_ids = await repository.open_loan_ids_of_account(
                session, account.tenant_id, account.id
            )
            if loan_ids:
                raise InvalidStatusTransition(
                    f"account {number} is the repayment account of loan {loan_ids[0]}"
                )
            balance = await balance_of(session, account)
            if balance.posted.amount != 0 or balance.pending.amount != 0:
                raise AccountBalanceNotZero(
                    f"account {number} holds {balance.posted.amount} minor units; "
                    "withdraw or transfer it before closing"
                )
            closed_at = datetime.now(UTC)
        await repository.set_account_status(
            session, account, status=new, reason=data.reason, closed_at=closed_at
        )
        await record(
            session,
            subject=subject,
            tenant_id=subject.tenant_id,
            action=f"account.{new if new != 'active' else 'unfrozen'}",
            target_type="bank_account",
            target_id=account.id,
            event=STATUS_EVENTS[new],
            before={"status": old},
            after={"number": number, "status": new, "reason": data.reason},
        )
        return await self.out(session, account)

    # --- history --------------------------------------------------------------------------------


accounts = AccountsService()
