"""The ledger: the only writer of ledger rows and cached balances.

Every money movement is one entry of balanced postings, written by one statement that
locks the touched accounts in id order and checks their balance limits on the locked rows
(see `repository.APPLY_SQL`), plus one outbox event in the same transaction. Ids make every
operation exactly-once: the same id with the same fields returns the original.

Locking in id order within one statement keeps single operations free of deadlocks; a
deadlock or serialization failure that a caller's multi-operation transaction provokes is
reported as `LedgerContention` (409, retry the request) rather than as a server error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import Money
from moneyrail.core.outbox import emit
from moneyrail.core.pagination import PageParams
from moneyrail.ledger import batch as batch_ops
from moneyrail.ledger import entries, holds, reports, tenant_settings, views
from moneyrail.ledger.errors import (
    AccountCodeExists,
    AccountNotFound,
    CurrencyMismatch,
    CurrencyNotEnabled,
    EntryUnbalanced,
    InsufficientFunds,
    InvalidAmount,
    InvalidBalanceLimit,
    InvalidLedgerId,
    InvalidTimeout,
    LedgerContention,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingExpired,
    PostAmountExceedsPending,
    SameAccount,
    TransferAlreadyReversed,
    TransferExistsWithDifferentFields,
    TransferNotFound,
    TransferNotPending,
    TransferNotReversible,
    UnknownCurrency,
)
from moneyrail.ledger.repository import ApplyResult, EntryRow, repository
from moneyrail.ledger.rules import check_client_id, deltas_of, pair, refusal
from moneyrail.ledger.schemas import (
    AccountEntryOut,
    BatchOut,
    BatchTransferIn,
    EntryOut,
    LedgerAccountOut,
    LedgerSettingsOut,
    TransferCreate,
    TransferOut,
    TrialBalanceOut,
)
from moneyrail.ledger.types import AccountKind, BalanceLimit, Balances, Posting

__all__ = [
    "AccountCodeExists",
    "AccountNotFound",
    "CurrencyMismatch",
    "CurrencyNotEnabled",
    "EntryUnbalanced",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidLedgerId",
    "InvalidTimeout",
    "LedgerContention",
    "LedgerService",
    "PendingAlreadyPosted",
    "PendingAlreadyVoided",
    "PendingExpired",
    "PostAmountExceedsPending",
    "SameAccount",
    "TransferAlreadyReversed",
    "TransferExistsWithDifferentFields",
    "TransferNotFound",
    "TransferNotPending",
    "TransferNotReversible",
    "UnknownCurrency",
    "ledger",
]

log = structlog.get_logger(__name__)
T = TypeVar("T")
# Deadlock detected, serialization failure: the transaction lost a race, not a rule.
_CONTENTION_STATES = frozenset({"40P01", "40001"})


async def contended(work: Awaitable[T]) -> T:
    """Await ledger work, reporting a lost deadlock or serialization race as LedgerContention."""
    try:
        return await work
    except (DBAPIError, asyncpg.PostgresError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if state in _CONTENTION_STATES:
            log.warning("ledger.contention", sqlstate=state)
            raise LedgerContention("another request holds these accounts; retry") from exc
        raise


class LedgerService:
    # --- accounts -----------------------------------------------------------------------------

    async def create_account(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        code: str,
        name: str,
        currency: str,
        kind: AccountKind,
        balance_limit: BalanceLimit = BalanceLimit.none(),
        metadata: dict[str, Any] | None = None,
    ) -> LedgerAccountOut:
        """Open an account.

        Raises:
            AccountCodeExists: the tenant has an account with this code.
            UnknownCurrency: not an ISO 4217 currency.
            CurrencyNotEnabled: a precious metal, and the tenant has not enabled metals.
            InvalidBalanceLimit: an overdraft below zero or past the ledger's bound.
        """
        Money(0, currency)  # validates the currency
        await tenant_settings.check_currency(session, tenant_id=tenant_id, currency=currency)
        if balance_limit.type == "overdraft" and not (
            0 <= (balance_limit.limit or 0) <= limits.ledger_overdraft_limit_minor_max
        ):
            raise InvalidBalanceLimit(
                f"an overdraft is 0 to {limits.ledger_overdraft_limit_minor_max} minor units"
            )
        account_id = new_id("lacc")
        values = {
            "tenant_id": tenant_id,
            "id": account_id,
            "code": code,
            "name": name,
            "currency": currency,
            "kind": AccountKind(kind).value,
            "debit_normal": AccountKind(kind).debit_normal,
            "limit_type": balance_limit.type,
            "limit_floor": balance_limit.floor,
            "metadata_": metadata or {},
        }
        if not await repository.insert_account(session, values):
            raise AccountCodeExists(f"an account with code {code!r} exists")
        log.info("ledger.account_opened", tenant_id=tenant_id, account_id=account_id)
        return await self.get_account(session, tenant_id=tenant_id, account_id=account_id)

    # --- settings -----------------------------------------------------------------------------

    async def get_settings(self, session: AsyncSession, *, tenant_id: str) -> LedgerSettingsOut:
        """The tenant's ledger options (defaults when never set)."""
        return await tenant_settings.get(session, tenant_id=tenant_id)

    async def update_settings(
        self, session: AsyncSession, *, tenant_id: str, precious_metals_enabled: bool
    ) -> LedgerSettingsOut:
        """Set the tenant's ledger options."""
        return await tenant_settings.update(
            session, tenant_id=tenant_id, precious_metals_enabled=precious_metals_enabled
        )

    async def system_account(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        code: str,
        name: str,
        currency: str,
        kind: AccountKind,
    ) -> LedgerAccountOut:
        """Get or create an account by code, safe against a concurrent create.

        Raises:
            CurrencyMismatch: the code exists with another currency or kind.
            CurrencyNotEnabled: a precious metal, and the tenant has not enabled metals.
        """
        existing = await repository.account_by_code(session, tenant_id=tenant_id, code=code)
        if existing is None:
            Money(0, currency)
            await tenant_settings.check_currency(session, tenant_id=tenant_id, currency=currency)
            await repository.insert_account(
                session,
                {
                    "tenant_id": tenant_id,
                    "id": new_id("lacc"),
                    "code": code,
                    "name": name,
                    "currency": currency,
                    "kind": AccountKind(kind).value,
                    "debit_normal": AccountKind(kind).debit_normal,
                    "limit_type": "none",
                    "limit_floor": None,
                    "metadata_": {},
                },
            )
            existing = await repository.account_by_code(session, tenant_id=tenant_id, code=code)
        invariant(existing is not None, "system account missing after insert")
        assert existing is not None
        if existing.currency != currency or existing.kind != AccountKind(kind).value:
            raise CurrencyMismatch(f"account {code!r} exists with another currency or kind")
        return views.account_view(existing)

    async def get_account(
        self, session: AsyncSession, *, tenant_id: str, account_id: str
    ) -> LedgerAccountOut:
        """Raises: AccountNotFound."""
        account = await repository.account(session, tenant_id=tenant_id, account_id=account_id)
        if account is None:
            raise AccountNotFound(f"no ledger account {account_id!r}")
        return views.account_view(account)

    async def balances(self, session: AsyncSession, *, tenant_id: str, account_id: str) -> Balances:
        """Raises: AccountNotFound."""
        account = await repository.account(session, tenant_id=tenant_id, account_id=account_id)
        if account is None:
            raise AccountNotFound(f"no ledger account {account_id!r}")
        return views.balances_of(account)

    # --- transfers ----------------------------------------------------------------------------

    async def transfer(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfer_id: str | None = None,
        debit_account_id: str,
        credit_account_id: str,
        amount: Money,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        pending: bool = False,
        timeout_seconds: int | None = None,
    ) -> TransferOut:
        """Move `amount` from the debit to the credit account, or hold it when `pending`.

        Raises:
            AccountNotFound, CurrencyMismatch, InsufficientFunds, SameAccount, InvalidAmount,
            InvalidTimeout, InvalidLedgerId, TransferExistsWithDifferentFields.
        """
        if amount.amount <= 0:
            raise InvalidAmount("a transfer amount is positive")
        if debit_account_id == credit_account_id:
            raise SameAccount("debit and credit accounts must differ")
        if timeout_seconds is not None and (
            not pending or not 0 < timeout_seconds <= limits.ledger_pending_timeout_seconds_max
        ):
            raise InvalidTimeout("timeout_seconds applies to pending transfers, within bounds")
        expires_at = (
            datetime.now(UTC) + timedelta(seconds=timeout_seconds) if timeout_seconds else None
        )
        entry = EntryRow(
            id=check_client_id(transfer_id) if transfer_id is not None else new_id("ltr"),
            kind="transfer",
            pending=pending,
            debit_account_id=debit_account_id,
            credit_account_id=credit_account_id,
            amount=amount.amount,
            currency=amount.currency,
            timeout_seconds=timeout_seconds,
            expires_at=expires_at,
            description=description,
            metadata=metadata or {},
        )
        legs = pair(entry, "pending" if pending else "posted")
        result = await contended(
            repository.apply(
                session,
                tenant_id=tenant_id,
                entry=entry,
                legs=legs,
                deltas=deltas_of(legs),
                hold_expires_at=expires_at,
            )
        )
        if result.inserted:
            assert result.created_at is not None
            out = views.transfer_view(entry, created_at=result.created_at)
            event = "transfer.pending" if pending else "transfer.posted"
            await emit(session, tenant_id=tenant_id, type=event, data=out.model_dump(mode="json"))
            return out
        return await self._existing_transfer(
            session, tenant_id=tenant_id, wanted=entry, result=result
        )

    async def _existing_transfer(
        self, session: AsyncSession, *, tenant_id: str, wanted: EntryRow, result: ApplyResult
    ) -> TransferOut:
        found = await repository.entry_with_links(session, tenant_id=tenant_id, entry_id=wanted.id)
        if found is None:
            raise refusal(result, expected=2)
        existing, resolution, reversal = found
        if not views.same_transfer(existing, wanted):
            raise TransferExistsWithDifferentFields(
                f"transfer {wanted.id!r} exists with different fields"
            )
        return views.transfer_view(
            existing, created_at=existing.created_at, resolution=resolution, reversal=reversal
        )

    async def get_transfer(
        self, session: AsyncSession, *, tenant_id: str, transfer_id: str
    ) -> TransferOut:
        """Raises: TransferNotFound (also for a multi-leg entry's id)."""
        found = await repository.entry_with_links(
            session, tenant_id=tenant_id, entry_id=transfer_id
        )
        if found is None or found[0].debit_account_id is None:
            raise TransferNotFound(f"no transfer {transfer_id!r}")
        entry, resolution, reversal = found
        return views.transfer_view(
            entry, created_at=entry.created_at, resolution=resolution, reversal=reversal
        )

    # --- multi-leg entries --------------------------------------------------------------------

    async def post_entry(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        entry_id: str | None = None,
        postings: list[Posting],
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> EntryOut:
        """Post a multi-leg entry, balanced per currency; all postings or none.

        Raises:
            EntryUnbalanced, AccountNotFound, CurrencyMismatch, InsufficientFunds,
            InvalidAmount, InvalidLedgerId, TransferExistsWithDifferentFields.
        """
        return await contended(
            entries.post_entry(
                session,
                tenant_id=tenant_id,
                entry_id=entry_id,
                postings=postings,
                description=description,
                metadata=metadata,
            )
        )

    async def get_entry(self, session: AsyncSession, *, tenant_id: str, entry_id: str) -> EntryOut:
        """Any entry (a transfer too) with its postings. Raises: TransferNotFound."""
        return await entries.get_entry(session, tenant_id=tenant_id, entry_id=entry_id)

    # --- holds and reversals ------------------------------------------------------------------

    async def post_pending(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfer_id: str,
        amount: Money | None = None,
    ) -> TransferOut:
        """Post a hold in full or in part; the rest of the reservation is released.

        Posting again with the same amount returns the posted hold.

        Raises:
            TransferNotFound, TransferNotPending, PendingAlreadyPosted, PendingAlreadyVoided,
            PendingExpired, PostAmountExceedsPending, CurrencyMismatch, InvalidAmount.
        """
        return await contended(
            holds.resolve_hold(
                session,
                tenant_id=tenant_id,
                transfer_id=transfer_id,
                kind="post_pending",
                amount=amount,
            )
        )

    async def void_pending(
        self, session: AsyncSession, *, tenant_id: str, transfer_id: str
    ) -> TransferOut:
        """Release a hold. Voiding a voided or expired hold returns it unchanged.

        Raises:
            TransferNotFound, TransferNotPending, PendingAlreadyPosted.
        """
        return await contended(
            holds.resolve_hold(
                session, tenant_id=tenant_id, transfer_id=transfer_id, kind="void_pending"
            )
        )

    async def expire_pending(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Void holds whose timeout has passed, across tenants; returns how many.

        The session must bypass tenant scope (the worker's jobs do). Bounded per call by
        `limits.ledger_expire_batch_size_max`.
        """
        return await contended(holds.expire_pending(session, now=now))

    async def reverse(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfer_id: str,
        reversal_id: str | None = None,
        description: str | None = None,
    ) -> TransferOut:
        """Write a correcting transfer that undoes a posted transfer (or a posted hold).

        Reversing again returns the same reversal.

        Raises:
            TransferNotFound, TransferNotReversible, TransferAlreadyReversed,
            InsufficientFunds (the reversal would break a balance limit).
        """
        return await contended(
            holds.reverse_transfer(
                session,
                tenant_id=tenant_id,
                transfer_id=transfer_id,
                reversal_id=reversal_id,
                description=description,
            )
        )

    # --- batches ------------------------------------------------------------------------------

    async def transfer_batch(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfers: Sequence[BatchTransferIn | TransferCreate],
        atomic: bool = False,
    ) -> BatchOut:
        """Up to `ledger_batch_transfers_max` transfers with a result per item.

        `atomic`: all are applied or none. Otherwise each valid item is applied on its own.
        """
        invariant(len(transfers) <= limits.ledger_batch_transfers_max, "batch bound checked")
        return await contended(
            batch_ops.transfer_batch(
                session, tenant_id=tenant_id, transfers=transfers, atomic=atomic
            )
        )

    # --- reads --------------------------------------------------------------------------------

    async def account_entries(
        self, session: AsyncSession, *, tenant_id: str, account_id: str, page: PageParams
    ) -> tuple[list[AccountEntryOut], str | None]:
        """An account's postings, newest first, with running balances. Raises: AccountNotFound."""
        return await reports.account_entries(
            session, tenant_id=tenant_id, account_id=account_id, page=page
        )

    async def trial_balance(
        self, session: AsyncSession, *, tenant_id: str, currency: str
    ) -> TrialBalanceOut:
        """Σ debits and Σ credits over every account in a currency. Raises: UnknownCurrency."""
        return await reports.trial_balance(session, tenant_id=tenant_id, currency=currency)


ledger = LedgerService()
