"""The ledger: the only writer of ledger rows and cached balances.

Every money movement is one entry of balanced postings, written by one statement that
locks the touched accounts in id order and checks their balance limits on the locked rows
(see `repository.APPLY_SQL`), plus one outbox event in the same transaction. Ids make every
operation exactly-once: the same id with the same fields returns the original.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.errors import Conflict, NotFound, Unprocessable, invariant
from moneyrail.core.ids import new_id
from moneyrail.core.money import CurrencyMismatch, InvalidAmount, Money
from moneyrail.core.outbox import emit
from moneyrail.ledger import views
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.repository import ApplyResult, Delta, EntryRow, Leg, repository
from moneyrail.ledger.schemas import EntryOut, LedgerAccountOut, TransferOut
from moneyrail.ledger.types import AccountKind, BalanceLimit, Balances, Direction, Posting

log = structlog.get_logger(__name__)


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Ledger account not found"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


class AccountCodeExists(Conflict):
    code = "account_code_exists"
    title = "An account with this code exists"


class InsufficientFunds(Unprocessable):
    code = "insufficient_funds"
    title = "Insufficient funds"


class SameAccount(Unprocessable):
    code = "same_account"
    title = "Debit and credit accounts are the same"


class EntryUnbalanced(Unprocessable):
    code = "entry_unbalanced"
    title = "Entry does not balance"


class InvalidLedgerId(Unprocessable):
    code = "invalid_ledger_id"
    title = "Invalid transfer or entry id"


class InvalidTimeout(Unprocessable):
    code = "invalid_timeout"
    title = "Invalid timeout"


class TransferExistsWithDifferentFields(Conflict):
    code = "transfer_exists_with_different_fields"
    title = "A transfer with this id exists with different fields"


class TransferNotPending(Unprocessable):
    code = "transfer_not_pending"
    title = "Transfer is not pending"


class PendingAlreadyPosted(Conflict):
    code = "pending_transfer_already_posted"
    title = "Pending transfer already posted"


class PendingAlreadyVoided(Conflict):
    code = "pending_transfer_already_voided"
    title = "Pending transfer already voided"


class PendingExpired(Conflict):
    code = "pending_transfer_expired"
    title = "Pending transfer expired"


class PostAmountExceedsPending(Unprocessable):
    code = "post_amount_exceeds_pending"
    title = "Amount exceeds the pending amount"


class TransferNotReversible(Unprocessable):
    code = "transfer_not_reversible"
    title = "Transfer cannot be reversed"


class TransferAlreadyReversed(Conflict):
    code = "transfer_already_reversed"
    title = "Transfer already reversed"


# Caller ids are URL-safe and never contain '#', which derived ids (`<id>#post`) use.
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-@+=]+$")
_RESOLUTION_ERRORS: dict[str, type[Conflict]] = {
    "post_pending": PendingAlreadyPosted,
    "void_pending": PendingAlreadyVoided,
    "expire_pending": PendingExpired,
}


def check_client_id(value: str) -> str:
    if not 0 < len(value) <= limits.ledger_transfer_id_length_max:
        raise InvalidLedgerId(f"ids are 1 to {limits.ledger_transfer_id_length_max} characters")
    if not CLIENT_ID_PATTERN.match(value):
        raise InvalidLedgerId("ids may use letters, digits and . _ : - @ + = only")
    return value


def _pair(entry: EntryRow, effect: str) -> list[Leg]:
    assert entry.debit_account_id and entry.credit_account_id
    assert entry.amount is not None and entry.currency is not None
    return [
        Leg(entry.debit_account_id, "debit", effect, entry.amount, entry.currency),
        Leg(entry.credit_account_id, "credit", effect, entry.amount, entry.currency),
    ]


def deltas_of(legs: list[Leg]) -> list[Delta]:
    """Aggregate legs into one counter change per account.

    Raises:
        CurrencyMismatch: one account appears with two currencies.
    """
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    currencies: dict[str, str] = {}
    for leg in legs:
        if currencies.setdefault(leg.account_id, leg.currency) != leg.currency:
            raise CurrencyMismatch(f"account {leg.account_id} posted in two currencies")
        slot = (0 if leg.direction == "debit" else 1) + (0 if leg.effect == "posted" else 2)
        totals[leg.account_id][slot] += -leg.amount if leg.effect == "release" else leg.amount
    return [Delta(acc, currencies[acc], *values) for acc, values in totals.items()]


def refusal(result: ApplyResult, expected: int) -> Exception:
    if result.found < expected:
        return AccountNotFound("a ledger account of this transfer does not exist")
    if result.mismatched:
        return CurrencyMismatch(
            "the amount's currency differs from the account's",
            extra={"account_ids": result.mismatched},
        )
    if result.short:
        return InsufficientFunds(
            "the transfer would take an account below its balance limit",
            extra={"account_ids": result.short},
        )
    raise AssertionError("posting refused without a reason")


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
        """
        Money(0, currency)  # validates the currency
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
        """
        existing = await repository.account_by_code(session, tenant_id=tenant_id, code=code)
        if existing is None:
            Money(0, currency)
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
        legs = _pair(entry, "pending" if pending else "posted")
        result = await repository.apply(
            session,
            tenant_id=tenant_id,
            entry=entry,
            legs=legs,
            deltas=deltas_of(legs),
            hold_expires_at=expires_at,
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
        """Post a balanced multi-leg entry, all postings or none.

        Raises:
            EntryUnbalanced, AccountNotFound, CurrencyMismatch, InsufficientFunds,
            InvalidAmount, InvalidLedgerId, TransferExistsWithDifferentFields.
        """
        if not 2 <= len(postings) <= limits.ledger_entry_postings_max:
            raise EntryUnbalanced(f"an entry has 2 to {limits.ledger_entry_postings_max} postings")
        sums: dict[str, int] = defaultdict(int)
        legs: list[Leg] = []
        for posting in postings:
            if posting.amount.amount <= 0:
                raise InvalidAmount("posting amounts are positive")
            sign = 1 if posting.direction == Direction.debit else -1
            sums[posting.amount.currency] += sign * posting.amount.amount
            legs.append(
                Leg(
                    posting.account_id,
                    Direction(posting.direction).value,
                    "posted",
                    posting.amount.amount,
                    posting.amount.currency,
                )
            )
        unbalanced = sorted(currency for currency, total in sums.items() if total != 0)
        if unbalanced:
            raise EntryUnbalanced(
                f"debits and credits differ in {', '.join(unbalanced)}",
                extra={"currencies": unbalanced},
            )
        entry = EntryRow(
            id=check_client_id(entry_id) if entry_id is not None else new_id("lent"),
            kind="entry",
            description=description,
            metadata=metadata or {},
        )
        result = await repository.apply(
            session, tenant_id=tenant_id, entry=entry, legs=legs, deltas=deltas_of(legs)
        )
        if result.inserted:
            stored = await repository.entry(session, tenant_id=tenant_id, entry_id=entry.id)
            assert stored is not None
            out = views.entry_view(
                stored,
                await repository.postings_of(session, tenant_id=tenant_id, entry_id=entry.id),
            )
            await emit(
                session, tenant_id=tenant_id, type="entry.posted", data=out.model_dump(mode="json")
            )
            return out
        existing = await repository.entry(session, tenant_id=tenant_id, entry_id=entry.id)
        if existing is None:
            raise refusal(result, expected=len({leg.account_id for leg in legs}))
        stored_postings = await repository.postings_of(
            session, tenant_id=tenant_id, entry_id=entry.id
        )
        same = views.same_transfer(existing, entry) and [
            (p.account_id, p.direction, p.effect, p.amount, p.currency) for p in stored_postings
        ] == [(leg.account_id, leg.direction, leg.effect, leg.amount, leg.currency) for leg in legs]
        if not same:
            raise TransferExistsWithDifferentFields(
                f"entry {entry.id!r} exists with different fields"
            )
        return views.entry_view(existing, stored_postings)

    async def get_entry(self, session: AsyncSession, *, tenant_id: str, entry_id: str) -> EntryOut:
        """Raises: TransferNotFound."""
        entry = await repository.entry(session, tenant_id=tenant_id, entry_id=entry_id)
        if entry is None:
            raise TransferNotFound(f"no entry {entry_id!r}")
        postings = await repository.postings_of(session, tenant_id=tenant_id, entry_id=entry_id)
        return views.entry_view(entry, postings)

    # --- holds --------------------------------------------------------------------------------

    async def post_pending(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfer_id: str,
        amount: Money | None = None,
    ) -> TransferOut:
        """Post a hold in full or in part; the rest of the reservation is released.

        Retrying with the same amount returns the posted transfer.

        Raises:
            TransferNotFound, TransferNotPending, PendingAlreadyPosted, PendingAlreadyVoided,
            PendingExpired, PostAmountExceedsPending, CurrencyMismatch, InvalidAmount.
        """
        return await self._resolve(
            session,
            tenant_id=tenant_id,
            transfer_id=transfer_id,
            kind="post_pending",
            amount=amount,
        )

    async def void_pending(
        self, session: AsyncSession, *, tenant_id: str, transfer_id: str
    ) -> TransferOut:
        """Release a hold. Voiding a voided or expired hold returns it unchanged.

        Raises:
            TransferNotFound, TransferNotPending, PendingAlreadyPosted.
        """
        return await self._resolve(
            session, tenant_id=tenant_id, transfer_id=transfer_id, kind="void_pending"
        )

    async def expire_hold(
        self, session: AsyncSession, *, tenant_id: str, transfer_id: str
    ) -> TransferOut:
        """Void a hold whose timeout passed (used by the expiry job)."""
        return await self._resolve(
            session, tenant_id=tenant_id, transfer_id=transfer_id, kind="expire_pending"
        )

    async def _resolve(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        transfer_id: str,
        kind: str,
        amount: Money | None = None,
    ) -> TransferOut:
        from moneyrail.ledger.holds import resolve_hold

        return await resolve_hold(
            session, tenant_id=tenant_id, transfer_id=transfer_id, kind=kind, amount=amount
        )

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

        Raises:
            TransferNotFound, TransferNotReversible, TransferAlreadyReversed,
            InsufficientFunds (the reversal would break a balance limit).
        """
        from moneyrail.ledger.holds import reverse_transfer

        return await reverse_transfer(
            session,
            tenant_id=tenant_id,
            transfer_id=transfer_id,
            reversal_id=reversal_id,
            description=description,
        )


def resolution_error(resolution: LedgerEntry) -> Conflict:
    """The error for acting on a hold that another operation already resolved."""
    error = _RESOLUTION_ERRORS[resolution.kind]
    return error(f"the pending transfer was resolved by {resolution.id!r}")


ledger = LedgerService()
