"""The ledger entries of payments, posted in the same transaction as the state change.

Accounts (system accounts of the tenant, one per provider and currency):
- `payments:receivable:<provider>:<CUR>` (asset): what the provider holds for the tenant
  and will settle — grows with captures, shrinks with refunds and provider fees.
- `payments:customer_funds:<CUR>` (liability): the clearing account of customer money
  received, net of refunds.
- `payments:fees:<provider>:<CUR>` (expense): fees the provider reported.

Capture: debit receivable / credit customer funds. Refund: the reverse. Fee: debit fees /
credit receivable. Transfer ids are derived from our ids (`pay:<pay_id>:capture`,
`pay:<pay_id>:fee`, `refund:<re_id>`), so a replayed webhook or poll can never post twice.
The balances per provider are the receivable accounts' balances.

Account ids are remembered per process once the transaction that found (or created) them
has committed, so a payment does not look its two accounts up again; ledger accounts are
never deleted, and an id from a transaction that rolled back is never remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from moneyrail.core import limits
from moneyrail.core.money import Money
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind


def receivable_code(provider: str, currency: str) -> str:
    return f"payments:receivable:{provider}:{currency}"


def customer_funds_code(currency: str) -> str:
    return f"payments:customer_funds:{currency}"


def fees_code(provider: str, currency: str) -> str:
    return f"payments:fees:{provider}:{currency}"


_account_ids: OrderedDict[tuple[str, str], str] = OrderedDict()
_SEEN_KEY = "moneyrail.payments.ledger_accounts"


def _remember(session: Session, *_: Any) -> None:
    seen: dict[tuple[str, str], str] = session.info.pop(_SEEN_KEY, {})
    for key, account_id in seen.items():
        _account_ids[key] = account_id
        _account_ids.move_to_end(key)
    while len(_account_ids) > limits.memory_cache_entries_max:
        _account_ids.popitem(last=False)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_SEEN_KEY, None)


async def _account(
    session: AsyncSession, *, tenant_id: str, code: str, name: str, currency: str, kind: AccountKind
) -> str:
    key = (tenant_id, code)
    cached = _account_ids.get(key)
    if cached is not None:
        return cached
    account = await ledger.system_account(
        session, tenant_id=tenant_id, code=code, name=name, currency=currency, kind=kind
    )
    seen = session.info.get(_SEEN_KEY)
    if seen is None:
        seen = session.info[_SEEN_KEY] = {}
        event.listen(session.sync_session, "after_commit", _remember, once=True)
        event.listen(session.sync_session, "after_soft_rollback", _forget, once=True)
    seen[key] = account.id
    return account.id


async def _receivable(
    session: AsyncSession, *, tenant_id: str, provider: str, currency: str
) -> str:
    return await _account(
        session,
        tenant_id=tenant_id,
        code=receivable_code(provider, currency),
        name=f"Receivable from {provider} ({currency})",
        currency=currency,
        kind=AccountKind.asset,
    )


async def _customer_funds(session: AsyncSession, *, tenant_id: str, currency: str) -> str:
    return await _account(
        session,
        tenant_id=tenant_id,
        code=customer_funds_code(currency),
        name=f"Customer funds clearing ({currency})",
        currency=currency,
        kind=AccountKind.liability,
    )


async def post_capture(
    session: AsyncSession,
    *,
    tenant_id: str,
    payment_id: str,
    provider: str,
    amount: Money,
    environment: str,
) -> None:
    """Money captured at the provider: the tenant's receivable from it grows."""
    await ledger.transfer(
        session,
        tenant_id=tenant_id,
        transfer_id=f"pay:{payment_id}:capture",
        debit_account_id=await _receivable(
            session, tenant_id=tenant_id, provider=provider, currency=amount.currency
        ),
        credit_account_id=await _customer_funds(
            session, tenant_id=tenant_id, currency=amount.currency
        ),
        amount=amount,
        description=f"Payment {payment_id} captured by {provider}",
        metadata={"payment_id": payment_id, "provider": provider, "environment": environment},
    )


async def post_fee(
    session: AsyncSession,
    *,
    tenant_id: str,
    payment_id: str,
    provider: str,
    fee: Money,
    environment: str,
) -> None:
    """The provider's fee on a payment, kept out of what it settles."""
    fees = await _account(
        session,
        tenant_id=tenant_id,
        code=fees_code(provider, fee.currency),
        name=f"{provider} fees ({fee.currency})",
        currency=fee.currency,
        kind=AccountKind.expense,
    )
    await ledger.transfer(
        session,
        tenant_id=tenant_id,
        transfer_id=f"pay:{payment_id}:fee",
        debit_account_id=fees,
        credit_account_id=await _receivable(
            session, tenant_id=tenant_id, provider=provider, currency=fee.currency
        ),
        amount=fee,
        description=f"{provider} fee on payment {payment_id}",
        metadata={"payment_id": payment_id, "provider": provider, "environment": environment},
    )


async def post_refund(
    session: AsyncSession,
    *,
    tenant_id: str,
    refund_id: str,
    payment_id: str,
    provider: str,
    amount: Money,
    environment: str,
) -> None:
    """A refund that succeeded: the capture's posting reversed for its amount."""
    await ledger.transfer(
        session,
        tenant_id=tenant_id,
        transfer_id=f"refund:{refund_id}",
        debit_account_id=await _customer_funds(
            session, tenant_id=tenant_id, currency=amount.currency
        ),
        credit_account_id=await _receivable(
            session, tenant_id=tenant_id, provider=provider, currency=amount.currency
        ),
        amount=amount,
        description=f"Refund {refund_id} of payment {payment_id} by {provider}",
        metadata={
            "payment_id": payment_id,
            "refund_id": refund_id,
            "provider": provider,
            "environment": environment,
        },
    )
