"""Pure rules of the ledger: ids, legs to counter deltas, refusal reasons, balance limits."""

from __future__ import annotations

import re
from collections import defaultdict

from moneyrail.core import limits
from moneyrail.core.errors import Conflict
from moneyrail.core.money import CurrencyMismatch
from moneyrail.ledger.errors import (
    AccountNotFound,
    BalanceOutOfRange,
    InsufficientFunds,
    InvalidLedgerId,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingExpired,
)
from moneyrail.ledger.models import LedgerEntry
from moneyrail.ledger.repository import ApplyResult, Delta, EntryRow, Leg, LockedColumns
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
    if result.out_of_range:
        return BalanceOutOfRange(
            "the change would take an account's totals past the ledger's bound",
            extra={"account_ids": result.out_of_range},
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


class LockedAccounts:
    """The accounts a batch locked, one list per counter, changed in memory while the batch's
    transfers are applied in order.

    Each transfer is checked against the balance limits as the single-transfer statement
    checks it: a limit binds only a change that lowers the available balance, which must
    stay at or above `lowest_allowed(limit_floor)`. Columns rather than an object per
    account: a batch locks up to two thousand accounts.
    """

    __slots__ = (
        "_changed",
        "_currencies",
        "_debit_normal",
        "_ids",
        "_index",
        "_lowest",
        "_pc",
        "_pd",
        "_qc",
        "_qd",
    )

    def __init__(self, columns: LockedColumns) -> None:
        self._ids = columns.ids
        self._index = {account_id: n for n, account_id in enumerate(columns.ids)}
        self._currencies = columns.currencies
        self._debit_normal = columns.debit_normal
        self._lowest = [
            None if floor is None else lowest_allowed(floor) for floor in columns.limit_floors
        ]
        self._pd = list(columns.posted_debits)
        self._pc = list(columns.posted_credits)
        self._qd = list(columns.pending_debits)
        self._qc = list(columns.pending_credits)
        self._changed: set[int] = set()

    def transfer(
        self, debit_id: str, credit_id: str, amount: int, currency: str, *, pending: bool
    ) -> tuple[int, int]:
        """Apply one transfer (a hold when `pending`) and return the posted balances of its
        debit and credit accounts after it, on their normal sides.

        Raises (leaving every counter unchanged):
            AccountNotFound, CurrencyMismatch, InsufficientFunds, BalanceOutOfRange.
        """
        d = self._index.get(debit_id)
        c = self._index.get(credit_id)
        if d is None or c is None:
            raise AccountNotFound("a ledger account of this transfer does not exist")
        currencies = self._currencies
        if currencies[d] != currency or currencies[c] != currency:
            raise CurrencyMismatch(
                "the amount's currency differs from the account's",
                extra={"account_ids": [self._ids[n] for n in (d, c) if currencies[n] != currency]},
            )
        debit_ok = self._allows(d, amount, debit=True, pending=pending)
        credit_ok = self._allows(c, amount, debit=False, pending=pending)
        if not (debit_ok and credit_ok):
            raise InsufficientFunds(
                "the transfer would take an account below its balance limit",
                extra={
                    "account_ids": [
                        self._ids[n] for n, ok in ((d, debit_ok), (c, credit_ok)) if not ok
                    ]
                },
            )
        total_max = limits.ledger_account_total_minor_max
        counters = (self._qd, self._qc) if pending else (self._pd, self._pc)
        past = [
            self._ids[n]
            for n, col in ((d, counters[0]), (c, counters[1]))
            if col[n] + amount > total_max
        ]
        if past:
            raise BalanceOutOfRange(
                "the change would take an account's totals past the ledger's bound",
                extra={"account_ids": sorted(past)},
            )
        if pending:
            self._qd[d] += amount
            self._qc[c] += amount
        else:
            self._pd[d] += amount
            self._pc[c] += amount
        self._changed.add(d)
        self._changed.add(c)
        return self._posted(d), self._posted(c)

    def _posted(self, n: int) -> int:
        difference = self._pd[n] - self._pc[n]
        return difference if self._debit_normal[n] else -difference

    def _allows(self, n: int, amount: int, *, debit: bool, pending: bool) -> bool:
        lowest = self._lowest[n]
        if lowest is None:
            return True
        # A leg on the account's normal side raises its available balance (a hold there
        # leaves it as it is); a leg on the other side lowers it by the amount.
        if debit == self._debit_normal[n]:
            return True
        if self._debit_normal[n]:
            available = self._pd[n] - self._pc[n] - self._qc[n]
        else:
            available = self._pc[n] - self._pd[n] - self._qd[n]
        return available - amount >= lowest

    def changed(self) -> tuple[list[str], list[int], list[int], list[int], list[int]]:
        """The changed accounts' ids and new counters (posted debits, posted credits, pending
        debits, pending credits), in id order."""
        order = sorted(self._changed)
        return (
            [self._ids[n] for n in order],
            [self._pd[n] for n in order],
            [self._pc[n] for n in order],
            [self._qd[n] for n in order],
            [self._qc[n] for n in order],
        )
