"""Money movements of bank accounts: deposits, withdrawals, transfers and the banking journal.

A customer account is a `liability` ledger account (the bank owes the customer) limited to a
non-negative balance or a configured overdraft. Cash is a per-tenant, per-currency `asset`
system account. Every movement is one ledger transfer whose id (`bank:<transaction id>`) is
derived from the journal row written in the same transaction, so it can post only once. The
balance is always read from the ledger; the journal only says what happened and why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.subject import AuthSubject
from moneyrail.banking.accounts import schemas
from moneyrail.banking.accounts.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotFound,
    SameAccountTransfer,
)
from moneyrail.banking.accounts.models import BankAccount, BankTransaction
from moneyrail.banking.accounts.repository import repository
from moneyrail.banking.shared import Lock, record
from moneyrail.core.errors import invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, Money, MoneyModel
from moneyrail.core.pagination import PageParams, make_page
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind

log = structlog.get_logger(__name__)


def ledger_ref(transaction_id: str) -> str:
    return f"bank:{transaction_id}"


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def end_of(day: date) -> datetime:
    """The exclusive upper bound of a UTC day: the next day's start, or for the calendar's
    last day (9999-12-31) its last representable instant."""
    if day == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return start_of(day + timedelta(days=1))


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


async def account_by_number(session: AsyncSession, *, tenant_id: str, number: str) -> BankAccount:
    """Raises:
    AccountNotFound: no account with this number in the tenant.
    """
    account = await repository.account_by_number(session, tenant_id, number)
    if account is None:
        raise AccountNotFound(f"no account {number}")
    return account


async def account_by_id(
    session: AsyncSession, *, tenant_id: str, account_id: str, lock: Lock = None
) -> BankAccount:
    """Raises:
    AccountNotFound: no account with this id in the tenant.
    """
    account = await repository.account_by_id(session, tenant_id, account_id, lock=lock)
    if account is None:
        raise AccountNotFound(f"no account {account_id}")
    return account


async def balance_of(session: AsyncSession, account: BankAccount) -> schemas.BalanceOut:
    """The account's balances, read from its ledger account."""
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


class MovementsService:
    async def deposit(
        self, session: AsyncSession, *, subject: AuthSubject, number: str, data: schemas.CashIn
    ) -> schemas.TransactionOut:
        """Cash in: debit the tenant's cash account, credit the customer's.

        Raises:
            AccountNotFound, AccountClosed, CurrencyMismatch.
        """
        return await self._cash(session, subject=subject, number=number, data=data, cash_in=True)

    async def withdraw(
        self, session: AsyncSession, *, subject: AuthSubject, number: str, data: schemas.CashIn
    ) -> schemas.TransactionOut:
        """Cash out: debit the customer's account, credit cash.

        Raises:
            AccountNotFound, AccountFrozen, AccountClosed, CurrencyMismatch,
            InsufficientFunds (from the ledger).
        """
        return await self._cash(session, subject=subject, number=number, data=data, cash_in=False)

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

    async def _cash(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        number: str,
        data: schemas.CashIn,
        cash_in: bool,
    ) -> schemas.TransactionOut:
        """A deposit (`cash_in`) or a withdrawal: the account against the tenant's cash."""
        account = await self._usable(session, subject.tenant_id, number, debit=not cash_in)
        amount = self._same_currency(account, data.amount.to_money())
        cash = await cash_account_id(session, tenant_id=subject.tenant_id, currency=amount.currency)
        txn = await self.move(
            session,
            subject=subject,
            kind="deposit" if cash_in else "withdrawal",
            debit=None if cash_in else account,
            credit=account if cash_in else None,
            debit_ledger_id=cash if cash_in else None,
            credit_ledger_id=None if cash_in else cash,
            amount=amount,
            description=data.description,
        )
        return await self.transaction_out(session, txn, account, with_balance=True)

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
        balance = (await balance_of(session, account)).posted if with_balance else None
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

    async def history(
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
        account = await account_by_number(session, tenant_id=tenant_id, number=number)
        rows = await repository.transactions(
            session,
            tenant_id,
            account.id,
            params,
            since=start_of(since) if since else None,
            until=end_of(until) if until else None,
        )
        items, cursor = make_page(rows, params, lambda row: row.id)
        others = {i for row in items for i in (row.debit_account_id, row.credit_account_id) if i}
        numbers = await repository.account_numbers(session, tenant_id, others)
        return [
            await self.transaction_out(session, row, account, numbers=numbers) for row in items
        ], cursor


movements = MovementsService()
