"""Value types of the ledger's service interface: kinds, directions, limits, postings, balances.

Each account has a *normal side*: asset and expense accounts grow with debits, liability,
equity and income accounts with credits. Balances and balance limits are expressed on that
normal side, so a customer's deposit account (a liability) has a positive balance when the
bank owes the customer money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from moneyrail.core.money import Money


class AccountKind(StrEnum):
    asset = "asset"
    liability = "liability"
    equity = "equity"
    income = "income"
    expense = "expense"

    @property
    def debit_normal(self) -> bool:
        """True when debits increase this kind's balance (assets and expenses)."""
        return self in (AccountKind.asset, AccountKind.expense)


class Direction(StrEnum):
    debit = "debit"
    credit = "credit"


class Effect(StrEnum):
    """What a posting does to its account's cached balances.

    `posted` moves the posted balance, `pending` reserves an amount (a hold) and `release`
    gives a reservation back when a pending transfer is posted, voided or expires.
    """

    posted = "posted"
    pending = "pending"
    release = "release"


LimitType = Literal["none", "non_negative", "overdraft"]


@dataclass(frozen=True, slots=True)
class BalanceLimit:
    """How far an account's available balance may fall (on its normal side).

    `none`: no limit (system accounts); `non_negative`: available ≥ 0;
    `overdraft(L)`: available may go below zero but stays above -L (so ≥ -L + 1 minor
    unit; `overdraft(0)` is `non_negative`). A limit is only checked when a change lowers
    the available balance, so incoming money is never refused.
    """

    type: LimitType
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.type == "overdraft":
            if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 0:
                raise ValueError("an overdraft limit is a non-negative integer of minor units")
        elif self.limit is not None:
            raise ValueError(f"a {self.type!r} balance limit takes no amount")

    @classmethod
    def none(cls) -> BalanceLimit:
        return cls("none")

    @classmethod
    def non_negative(cls) -> BalanceLimit:
        return cls("non_negative")

    @classmethod
    def overdraft(cls, limit_minor: int) -> BalanceLimit:
        return cls("overdraft", limit_minor)

    @property
    def floor(self) -> int | None:
        """The stored bound (0 or -L), or None for no limit; see `lowest_allowed`."""
        if self.type == "none":
            return None
        if self.type == "non_negative":
            return 0
        assert self.limit is not None
        return -self.limit

    @classmethod
    def from_floor(cls, floor: int | None, *, type_: str) -> BalanceLimit:
        if type_ == "overdraft":
            return cls.overdraft(-(floor or 0))
        if type_ == "non_negative":
            return cls.non_negative()
        return cls.none()


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of a multi-leg entry."""

    account_id: str
    direction: Direction
    amount: Money


@dataclass(frozen=True, slots=True)
class Balances:
    """An account's balances in minor units, on its normal side.

    `posted`: settled balance. `pending`: the net effect pending transfers would have if
    posted (negative while funds are held). `available`: posted minus holds against the
    account; balance limits apply to it. The four raw counters are kept as well.
    """

    currency: str
    posted: int
    pending: int
    available: int
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int

    @classmethod
    def of(
        cls,
        *,
        currency: str,
        debit_normal: bool,
        posted_debits: int,
        posted_credits: int,
        pending_debits: int,
        pending_credits: int,
    ) -> Balances:
        sign = 1 if debit_normal else -1
        posted = sign * (posted_debits - posted_credits)
        pending = sign * (pending_debits - pending_credits)
        held = pending_credits if debit_normal else pending_debits
        return cls(
            currency=currency,
            posted=posted,
            pending=pending,
            available=posted - held,
            posted_debits=posted_debits,
            posted_credits=posted_credits,
            pending_debits=pending_debits,
            pending_credits=pending_credits,
        )


def lowest_allowed(floor: int) -> int:
    """The lowest available balance a stored floor allows: 0 for `non_negative`, and
    -L + 1 for an overdraft of L > 0 (the balance stays strictly above -L). The posting
    statement computes the same as `least(limit_floor + 1, 0)`."""
    return min(floor + 1, 0)
