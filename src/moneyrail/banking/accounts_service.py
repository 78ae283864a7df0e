"""Bank accounts backed by ledger accounts: opening, cash in and out, transfers, status, statements.

A customer account is a `liability` ledger account (the bank owes the customer) limited to a
non-negative balance or a configured overdraft. Cash is a per-tenant, per-currency `asset`
system account. Every movement is one ledger transfer whose id (`bank:<transaction id>`) is
derived from the banking journal row written in the same transaction, so it posts once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking import schemas
from moneyrail.banking.models import BankAccount, BankTransaction
from moneyrail.banking.repository import repository
from moneyrail.banking.service import (
    AccountBalanceNotZero,
    AccountClosed,
    AccountFrozen,
    AccountNotFound,
    AccountNumbersExhausted,
    CustomerNotActive,
    CustomerNotFound,
    InvalidStatementRange,
    InvalidStatusTransition,
    OverdraftNotAllowed,
    SameAccountTransfer,
    StatementTooLarge,
    banking,
    record,
)
from moneyrail.banking.statements import Movement, Statement, running_lines
from moneyrail.core import limits
from moneyrail.core.errors import invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, InvalidAmount, Money, MoneyModel
from moneyrail.core.pagination import PageParams, make_page
from moneyrail.identity.subject import AuthSubject
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


def ledger_ref(transaction_id: str) -> str:
    return f"bank:{transaction_id}"


async def cash_account_id(session: AsyncSession, *, tenant_id: str, currency: str) -> str:
    account = await ledger.system_account(
        session,
        tenant_id=tenant_id,
        code=f"banking:cash:{currency}",
        name=f"Cash {currency}",
        currency=currency,
        kind=AccountKind.asset,
    )
    return account.id


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class AccountsService:
    async def open(
        self, session: AsyncSession, *, subject: AuthSubject, data: schemas.AccountOpen
    ) -> schemas.AccountOut:
        """Raises:
        CustomerNotFound, CustomerNotActive, BranchNotFound, OverdraftNotAllowed,
        CurrencyMismatch, InvalidAmount, AccountNumbersExhausted.
        """
        tenant_id = subject.tenant_id
        customer = await repository.customer(session, tenant_id, data.customer_id, lock="share")
        if customer is None:
            raise CustomerNotFound(f"no customer {data.customer_id}")
        if customer.status != "active":
            raise CustomerNotActive(f"customer {customer.id} is {customer.status}")
        ifsc = data.ifsc_code
        if data.branch_code is not None:
            branch = await banking.branch(session, tenant_id=tenant_id, code=data.branch_code)
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
            await self.move(
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
        account = await repository.account_by_number(session, tenant_id, number)
        if account is None:
            raise AccountNotFound(f"no account {number}")
        return account

    async def out(self, session: AsyncSession, account: BankAccount) -> schemas.AccountOut:
        balance = await self.balance_of(session, account)
        return schemas.AccountOut.model_validate(account).model_copy(update={"balance": balance})

    async def balance_of(self, session: AsyncSession, account: BankAccount) -> schemas.BalanceOut:
        balances = await ledger.balances(
            session, tenant_id=account.tenant_id, account_id=account.ledger_account_id
        )

        def money(amount: int) -> MoneyModel:
            return MoneyModel(amount=amount, currency=account.currency)

        return schemas.BalanceOut(
            account_number=account.number,
            currency=account.currency,
            posted=money(balances.posted),
            pending=money(balances.pending),
            available=money(balances.available),
        )

    async def of_customer(
        self, session: AsyncSession, *, tenant_id: str, customer_id: str, params: PageParams
    ) -> tuple[list[schemas.AccountOut], str | None]:
        """Raises:
        CustomerNotFound: no such customer.
        """
        await banking.customer(session, tenant_id=tenant_id, customer_id=customer_id)
        rows = await repository.accounts_of_customer(session, tenant_id, customer_id, params)
        items, cursor = make_page(rows, params, lambda row: row.id)
        return [await self.out(session, row) for row in items], cursor

    # --- money movements ----------------------------------------------------------------------

    async def deposit(
        self, session: AsyncSession, *, subject: AuthSubject, number: str, data: schemas.CashIn
    ) -> schemas.TransactionOut:
        """Cash in: debit the tenant's cash account, credit the customer's.

        Raises:
            AccountNotFound, AccountClosed, CurrencyMismatch.
        """
        account = await self._usable(session, subject.tenant_id, number, debit=False)
        amount = self._same_currency(account, data.amount.to_money())
        cash = await cash_account_id(session, tenant_id=subject.tenant_id, currency=amount.currency)
        txn = await self.move(
            session,
            subject=subject,
            kind="deposit",
            debit=None,
            credit=account,
            debit_ledger_id=cash,
            amount=amount,
            description=data.description,
        )
        return await self.transaction_out(session, txn, account, with_balance=True)

    async def withdraw(
        self, session: AsyncSession, *, subject: AuthSubject, number: str, data: schemas.CashIn
    ) -> schemas.TransactionOut:
        """Cash out: debit the customer's account, credit cash.

        Raises:
            AccountNotFound, AccountFrozen, AccountClosed, CurrencyMismatch,
            InsufficientFunds (from the ledger).
        """
        account = await self._usable(session, subject.tenant_id, number, debit=True)
        amount = self._same_currency(account, data.amount.to_money())
        cash = await cash_account_id(session, tenant_id=subject.tenant_id, currency=amount.currency)
        txn = await self.move(
            session,
            subject=subject,
            kind="withdrawal",
            debit=account,
            credit=None,
            credit_ledger_id=cash,
            amount=amount,
            description=data.description,
        )
        return await self.transaction_out(session, txn, account, with_balance=True)

    async def transfer(
        self, session: AsyncSession, *, subject: AuthSubject, number: str, data: schemas.TransferIn
    ) -> schemas.TransactionOut:
        """Move money between two accounts of the tenant.

        Raises:
            AccountNotFound, SameAccountTransfer, AccountFrozen, AccountClosed,
            CurrencyMismatch, InsufficientFunds.
        """
        if number == data.to_account_number:
            raise SameAccountTransfer("choose a different destination account")
        tenant_id = subject.tenant_id
        rows = await repository.accounts_by_numbers(
            session, tenant_id, [number, data.to_account_number], lock="share"
        )
        by_number = {row.number: row for row in rows}
        for wanted in (number, data.to_account_number):
            if wanted not in by_number:
                raise AccountNotFound(f"no account {wanted}")
        source, target = by_number[number], by_number[data.to_account_number]
        self.check_status(source, debit=True)
        self.check_status(target, debit=False)
        amount = self._same_currency(source, data.amount.to_money())
        self._same_currency(target, amount)
        txn = await self.move(
            session,
            subject=subject,
            kind="transfer",
            debit=source,
            credit=target,
            amount=amount,
            description=data.description,
        )
        return await self.transaction_out(session, txn, source, with_balance=True)

    async def _usable(
        self, session: AsyncSession, tenant_id: str, number: str, *, debit: bool
    ) -> BankAccount:
        # A shared row lock: many movements run side by side, a status change waits for them.
        account = await repository.account_by_number(session, tenant_id, number, lock="share")
        if account is None:
            raise AccountNotFound(f"no account {number}")
        self.check_status(account, debit=debit)
        return account

    @staticmethod
    def check_status(account: BankAccount, *, debit: bool) -> None:
        if account.status == "closed":
            raise AccountClosed(f"account {account.number} is closed")
        if debit and account.status == "frozen":
            raise AccountFrozen(f"account {account.number} is frozen; debits are refused")

    @staticmethod
    def _same_currency(account: BankAccount, amount: Money) -> Money:
        if amount.currency != account.currency:
            raise CurrencyMismatch(f"account {account.number} holds {account.currency}")
        return amount

    async def move(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject | None,
        kind: str,
        debit: BankAccount | None,
        credit: BankAccount | None,
        amount: Money,
        description: str | None,
        debit_ledger_id: str | None = None,
        credit_ledger_id: str | None = None,
        reference: str | None = None,
        tenant_id: str | None = None,
    ) -> BankTransaction:
        """Post one ledger transfer and its journal row; both or neither."""
        tenant = tenant_id or (subject.tenant_id if subject is not None else None)
        debit_id = debit.ledger_account_id if debit is not None else debit_ledger_id
        credit_id = credit.ledger_account_id if credit is not None else credit_ledger_id
        invariant(tenant is not None, "a movement belongs to a tenant")
        invariant(debit_id is not None and credit_id is not None, "a movement has two sides")
        assert tenant is not None and debit_id is not None and credit_id is not None
        txn_id = new_id("btxn")
        ref = ledger_ref(txn_id)
        await ledger.transfer(
            session,
            tenant_id=tenant,
            transfer_id=ref,
            debit_account_id=debit_id,
            credit_account_id=credit_id,
            amount=amount,
            description=description or kind.replace("_", " ").capitalize(),
            metadata={"bank_transaction_id": txn_id, "kind": kind},
        )
        return await self.journal(
            session,
            subject=subject,
            tenant_id=tenant,
            txn_id=txn_id,
            kind=kind,
            debit=debit,
            credit=credit,
            amount=amount,
            description=description,
            reference=reference,
            ledger_reference=ref,
        )

    async def journal(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject | None,
        tenant_id: str,
        txn_id: str,
        kind: str,
        debit: BankAccount | None,
        credit: BankAccount | None,
        amount: Money,
        description: str | None,
        reference: str | None,
        ledger_reference: str,
    ) -> BankTransaction:
        """Write the journal row of a movement already posted to the ledger, audit and emit it."""
        txn = BankTransaction(
            tenant_id=tenant_id,
            id=txn_id,
            kind=kind,
            debit_account_id=debit.id if debit is not None else None,
            credit_account_id=credit.id if credit is not None else None,
            amount=amount.amount,
            currency=amount.currency,
            description=description,
            reference=reference,
            ledger_ref=ledger_reference,
            created_by=subject.actor_id if subject is not None else None,
            created_at=datetime.now(UTC),
        )
        await repository.add(session, txn)
        summary: dict[str, Any] = {
            "kind": kind,
            "amount": amount.amount,
            "currency": amount.currency,
            "debit_account": debit.number if debit is not None else None,
            "credit_account": credit.number if credit is not None else None,
            "ledger_ref": ledger_reference,
        }
        await record(
            session,
            subject=subject,
            tenant_id=tenant_id,
            action=f"transaction.{kind}",
            target_type="bank_transaction",
            target_id=txn_id,
            event="bank_transaction.created",
            after=summary,
        )
        log.info("banking.transaction", tenant_id=tenant_id, transaction_id=txn_id, kind=kind)
        return txn

    # --- status ---------------------------------------------------------------------------------

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
            balance = await self.balance_of(session, account)
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

    async def transaction_out(
        self,
        session: AsyncSession,
        txn: BankTransaction,
        account: BankAccount,
        *,
        numbers: dict[str, str] | None = None,
        with_balance: bool = False,
    ) -> schemas.TransactionOut:
        credit = txn.credit_account_id == account.id
        other = txn.debit_account_id if credit else txn.credit_account_id
        if numbers is None:
            numbers = await repository.account_numbers(
                session, account.tenant_id, {other} if other else set()
            )
        balance = (await self.balance_of(session, account)).posted if with_balance else None
        return schemas.TransactionOut(
            id=txn.id,
            kind=schemas.TransactionKind(txn.kind),
            direction="credit" if credit else "debit",
            amount=MoneyModel(amount=txn.amount, currency=txn.currency),
            account_number=account.number,
            counterparty_account_number=numbers.get(other) if other else None,
            description=txn.description,
            reference=txn.reference,
            ledger_ref=txn.ledger_ref,
            created_at=txn.created_at,
            balance_after=balance,
        )

    async def transactions(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        number: str,
        params: PageParams,
        since: date | None,
        until: date | None,
    ) -> tuple[list[schemas.TransactionOut], str | None]:
        """Raises:
        AccountNotFound.
        """
        account = await self.get(session, tenant_id=tenant_id, number=number)
        rows = await repository.transactions(
            session,
            tenant_id,
            account.id,
            params,
            since=start_of(since) if since else None,
            until=start_of(until + timedelta(days=1)) if until else None,
        )
        items, cursor = make_page(rows, params, lambda row: row.id)
        others = {i for row in items for i in (row.debit_account_id, row.credit_account_id) if i}
        numbers = await repository.account_numbers(session, tenant_id, others)
        return [
            await self.transaction_out(session, row, account, numbers=numbers) for row in items
        ], cursor

    async def statement(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        number: str,
        period_from: date | None,
        period_to: date | None,
    ) -> Statement:
        """Opening balance, every line with its running balance, closing balance (UTC days).

        Raises:
            AccountNotFound, InvalidStatementRange, StatementTooLarge.
        """
        account = await self.get(session, tenant_id=tenant_id, number=number)
        now = datetime.now(UTC)
        last = period_to or now.date()
        first = period_from or last.replace(day=1)
        if last < first:
            raise InvalidStatementRange("`from` must not be after `to`")
        if (last - first).days >= limits.statement_range_days_max:
            raise InvalidStatementRange(
                f"a statement covers at most {limits.statement_range_days_max} days"
            )
        since, until = start_of(first), start_of(last + timedelta(days=1))
        rows = await repository.movements(
            session,
            tenant_id,
            account.id,
            since=since,
            until=until,
            limit=limits.statement_lines_max + 1,
        )
        if len(rows) > limits.statement_lines_max:
            raise StatementTooLarge(
                f"more than {limits.statement_lines_max} transactions; ask for a shorter period"
            )
        opening = await repository.balance_before(session, tenant_id, account.id, since)
        lines = running_lines(
            opening,
            (
                Movement(
                    transaction_id=row.id,
                    created_at=row.created_at,
                    kind=row.kind,
                    description=row.description,
                    amount=row.amount if row.credit_account_id == account.id else -row.amount,
                )
                for row in rows
            ),
        )
        customer = await banking.customer(
            session, tenant_id=tenant_id, customer_id=account.customer_id
        )
        return Statement(
            account_number=account.number,
            account_type=account.account_type,
            customer_name=f"{customer.first_name} {customer.last_name}",
            currency=account.currency,
            period_from=first,
            period_to=last,
            opening_balance=opening,
            closing_balance=lines[-1].balance if lines else opening,
            lines=tuple(lines),
            generated_at=now,
        )

    async def daily_summary(
        self, session: AsyncSession, *, tenant_id: str, day: date
    ) -> schemas.DailySummaryOut:
        totals = await repository.daily_totals(
            session, tenant_id, since=start_of(day), until=start_of(day + timedelta(days=1))
        )
        groups: dict[str, list[schemas.SummaryRow]] = {
            "deposit": [],
            "withdrawal": [],
            "transfer": [],
        }
        for kind, currency, count, total in totals:
            if kind in groups:
                groups[kind].append(
                    schemas.SummaryRow(
                        currency=currency,
                        count=count,
                        total=MoneyModel(amount=total, currency=currency),
                    )
                )
        return schemas.DailySummaryOut(
            date=day,
            deposits=groups["deposit"],
            withdrawals=groups["withdrawal"],
            transfers=groups["transfer"],
        )


accounts = AccountsService()
