"""Pure rules of the ledger: ids, legs to counter deltas, refusal reasons, balance limits."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from moneyrail.core import limits
from moneyrail.core.errors import Conflict
from moneyrail.core.money import CurrencyMismatch
from moneyrail.ledger.errors import (
    AccountNotFound,
    InsufficientFunds,
    InvalidLedgerId,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingExpired,
)
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.repository import ApplyResult, Delta, EntryRow, Leg
from moneyrail.ledger.types import lowest_allowed

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


def pair(entry: EntryRow, effect: str) -> list[Leg]:
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


def resolution_error(resolution: LedgerEntry) -> Conflict:
    """The error for acting on a hold that another operation already resolved."""
    error = _RESOLUTION_ERRORS[resolution.kind]
    return error(f"the pending transfer was resolved by {resolution.id!r}")


@dataclass
class AccountState:
    """A locked account's counters, changed in memory while a batch is applied in order."""

    id: str
    currency: str
    debit_normal: bool
    limit_floor: int | None
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int
    changed: bool = False

    @classmethod
    def of(cls, row: Any) -> AccountState:
        return cls(
            id=row.id,
            currency=row.currency,
            debit_normal=row.debit_normal,
            limit_floor=row.limit_floor,
            posted_debits=row.posted_debits,
            posted_credits=row.posted_credits,
            pending_debits=row.pending_debits,
            pending_credits=row.pending_credits,
        )

    @property
    def posted_normal(self) -> int:
        difference = self.posted_debits - self.posted_credits
        return difference if self.debit_normal else -difference

    def _available(self, pd: int, pc: int, qd: int, qc: int) -> int:
        if self.debit_normal:
            return pd - pc - qc
        return pc - pd - qd

    def allows(self, pd: int, pc: int, qd: int, qc: int) -> bool:
        """The same test as the single-transfer statement's: a limit binds only a decrease."""
        if self.limit_floor is None:
            return True
        change = self._available(pd, pc, qd, qc)
        if change >= 0:
            return True
        after = self._available(
            self.posted_debits + pd,
            self.posted_credits + pc,
            self.pending_debits + qd,
            self.pending_credits + qc,
        )
        return after >= lowest_allowed(self.limit_floor)

    def add(self, pd: int, pc: int, qd: int, qc: int) -> None:
        self.posted_debits += pd
        self.posted_credits += pc
        self.pending_debits += qd
        self.pending_credits += qc
        self.changed = True
