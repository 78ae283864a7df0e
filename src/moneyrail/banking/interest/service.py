"""The savings-interest job for one tenant and one day: accrue daily, credit at month end.

Idempotent by construction: an accrual row is unique per (account, day) and a credit row per
(account, month), both inserted with ON CONFLICT DO NOTHING before anything is posted, and
the credit's ledger transfer id is derived from the account and the month. Running the job
again for the same day therefore writes nothing and posts nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.banking.accounts.models import BankAccount
from moneyrail.banking.accounts.movements import movements, start_of
from moneyrail.banking.interest.accrual import (
    daily_accrual,
    is_month_end,
    month_start,
    split_credit,
)
from moneyrail.banking.interest.repository import repository
from moneyrail.banking.settings.service import bank_settings
from moneyrail.core import limits
from moneyrail.core.ids import new_id
from moneyrail.core.money import Money
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind

log = structlog.get_logger(__name__)


@dataclass
class AccrualCounts:
    accrued: int = 0
    credited: int = 0
    amounts: Counter[str] = field(default_factory=Counter)


def credit_ref(account_id: str, period: date) -> str:
    return f"bank:interest:{account_id}:{period:%Y%m}"


class InterestService:
    async def accrue(self, session: AsyncSession, *, tenant_id: str, day: date) -> AccrualCounts:
        """Accrue `day`'s interest on every open savings account of the tenant; on the last
        day of a month, credit the month's interest. Flushes, never commits."""
        counts = AccrualCounts()
        rate = await bank_settings.savings_rate(session, tenant_id=tenant_id)
        day_end = start_of(day + timedelta(days=1))
        period = month_start(day)
        after_id: str | None = None
        while True:
            batch = await repository.savings_accounts(
                session,
                tenant_id,
                opened_before=day_end,
                after_id=after_id,
                limit=limits.interest_accrual_batch_size_max,
            )
            if not batch:
                break
            after_id = batch[-1].id
            ids = [account.id for account in batch]
            balances = await repository.balances_before(session, tenant_id, ids, day_end)
            # A month already credited is settled: a late run for one of its days adds nothing.
            settled = await repository.credited_accounts(session, tenant_id, ids, period)
            for account in batch:
                if account.id in settled:
                    continue
                balance = balances.get(account.id, 0)
                inserted = await repository.insert_accrual(
                    session,
                    {
                        "tenant_id": tenant_id,
                        "account_id": account.id,
                        "accrual_date": day,
                        "balance": balance,
                        "annual_rate": rate,
                        "amount": daily_accrual(balance=balance, annual_rate=rate),
                    },
                )
                counts.accrued += int(inserted)
                if is_month_end(day):
                    credited = await self._credit_month(session, account, period=period, day=day)
                    if credited:
                        counts.credited += 1
                        counts.amounts[account.currency] += credited
            if len(batch) < limits.interest_accrual_batch_size_max:
                break
        log.info(
            "banking.interest_accrued",
            tenant_id=tenant_id,
            day=day.isoformat(),
            accrued=counts.accrued,
            credited=counts.credited,
        )
        return counts

    async def _credit_month(
        self, session: AsyncSession, account: BankAccount, *, period: date, day: date
    ) -> int:
        """Credit the month's whole minor units once; returns the amount credited now."""
        tenant_id = account.tenant_id
        accrued = await repository.accrued_between(
            session, tenant_id, account.id, first=period, last=day
        )
        carried = await repository.carried_before(session, tenant_id, account.id, period)
        whole, carry = split_credit(accrued=accrued, carried=carried)
        txn_id = new_id("btxn") if whole > 0 else None
        inserted = await repository.insert_credit(
            session,
            {
                "tenant_id": tenant_id,
                "account_id": account.id,
                "period": period,
                "accrued": accrued,
                "carried_in": carried,
                "amount": whole,
                "carried_out": carry,
                "transaction_id": txn_id,
            },
        )
        if not inserted or txn_id is None:
            return 0
        amount = Money(whole, account.currency)
        expense = await ledger.system_account(
            session,
            tenant_id=tenant_id,
            code=f"banking:interest:expense:{account.currency}",
            name=f"Savings interest expense {account.currency}",
            currency=account.currency,
            kind=AccountKind.expense,
        )
        reference = credit_ref(account.id, period)
        description = f"Interest for {period:%B %Y}"
        await ledger.transfer(
            session,
            tenant_id=tenant_id,
            transfer_id=reference,
            debit_account_id=expense.id,
            credit_account_id=account.ledger_account_id,
            amount=amount,
            description=description,
            metadata={"bank_transaction_id": txn_id, "kind": "interest"},
        )
        await movements.journal(
            session,
            subject=None,
            tenant_id=tenant_id,
            txn_id=txn_id,
            kind="interest",
            debit=None,
            credit=account,
            amount=amount,
            description=description,
            reference=f"{period:%Y-%m}",
            ledger_reference=reference,
        )
        return whole


interest = InterestService()
