"""Money as integer minor units plus an ISO 4217 currency. No float anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any

from babel.core import get_global
from babel.numbers import get_currency_precision
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from moneyrail.core import limits
from moneyrail.core.errors import Unprocessable, invariant
from moneyrail.core.types import EnumString, str_enum

# Minor-unit exponents from ISO 4217 where CLDR's cash/accounting precision differs.
_ISO_EXPONENT_OVERRIDES = {"CLP": 0, "ISK": 0, "UGX": 0, "TWD": 2, "HUF": 2, "IDR": 2, "COP": 2}
# The precious metals of ISO 4217 (gold, silver, platinum, palladium: one troy ounce each).
# ISO 4217 gives them no minor unit and CLDR only its default of 2 (0.01 oz of gold is worth
# tens of dollars), so moneyrail fixes one scale: 3 decimals, a thousandth of a troy ounce
# (about 31 mg), the precision LBMA Good Delivery states fine weights in. Only the ledger
# takes them, and only for a tenant that has enabled them (`ledger_settings`).
PRECIOUS_METALS = frozenset({"XAU", "XAG", "XPT", "XPD"})
PRECIOUS_METAL_EXPONENT = 3
# ISO 4217 codes that are not money anyone holds: bond-market units, SDR, SUCRE, ADB unit,
# testing, no currency. None is legal tender in CLDR; listed to check that stays so.
_NOT_CURRENCIES = frozenset(
    {"XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XAD", "XTS", "XXX", "XFU", "XRE", "XFO"}
)
AMOUNT_ABS_MAX = limits.amount_minor_max  # fits BIGINT with headroom for sums of many postings


class UnknownCurrency(Unprocessable):
    code = "unknown_currency"
    title = "Unknown currency"


class CurrencyMismatch(Unprocessable):
    code = "currency_mismatch"
    title = "Currencies differ"


class InvalidAmount(Unprocessable):
    code = "invalid_amount"
    title = "Invalid amount"


@lru_cache(maxsize=1)
def _legal_tender() -> frozenset[str]:
    """ISO 4217 codes in use as legal tender today: CLDR's territory data (Babel) lists each
    territory's currencies with their dates and a tender flag; a current one has no end date.

    That leaves out historical codes (DEM, ANG, SLL), funds codes (BOV, CHE, CLF, USN…), the
    metals and every non-currency X-code; the X-codes left are real currencies (XAF, XCD,
    XCG, XOF, XPF).
    """
    codes: set[str] = set()
    for entries in get_global("territory_currencies").values():
        for code, _start, end, tender in entries:
            if tender and end is None and len(code) == 3 and code.isalpha():
                codes.add(code)
    invariant(not codes & (_NOT_CURRENCIES | PRECIOUS_METALS), "CLDR lists a non-currency")
    return frozenset(codes)


def is_currency(code: str) -> bool:
    """A current ISO 4217 legal-tender currency (not a metal)."""
    return code in _legal_tender()


def is_precious_metal(code: str) -> bool:
    return code in PRECIOUS_METALS


def is_ledger_currency(code: str) -> bool:
    """A currency the ledger can hold: legal tender, or a precious metal."""
    return code in _legal_tender() or code in PRECIOUS_METALS


def exponent(currency: str) -> int:
    """Number of minor-unit digits (INR 2, JPY 0, KWD 3, the metals 3)."""
    if currency in PRECIOUS_METALS:
        return PRECIOUS_METAL_EXPONENT
    if not is_currency(currency):
        raise UnknownCurrency(f"{currency!r} is not an ISO 4217 currency code")
    if currency in _ISO_EXPONENT_OVERRIDES:
        return _ISO_EXPONENT_OVERRIDES[currency]
    return int(get_currency_precision(currency))


# Every code the server accepts, and nothing else: the one `Currency` schema component.
Currency = str_enum(
    "Currency",
    _legal_tender(),
    "A current ISO 4217 currency code (upper case; lower case is accepted and normalised).",
)
# The ledger's accounts and amounts also take the precious metals (a tenant enables them).
LedgerCurrency = str_enum(
    "LedgerCurrency",
    _legal_tender() | PRECIOUS_METALS,
    "A current ISO 4217 currency code, or a precious metal (XAU, XAG, XPT, XPD: troy ounces,"
    " 3 decimals) once the tenant has enabled metals in its ledger settings. Upper case;"
    " lower case is accepted and normalised.",
)

_CURRENCY_MESSAGE = "{value!r} is not a current ISO 4217 currency code"

CurrencyCode = Annotated[str, EnumString(Currency, normalize=str.upper, message=_CURRENCY_MESSAGE)]
LedgerCurrencyCode = Annotated[
    str,
    EnumString(
        LedgerCurrency,
        normalize=str.upper,
        message="{value!r} is not a current ISO 4217 currency code or precious metal",
    ),
]


def integral_number(value: Any) -> Any:
    # JSON Schema's integer includes 12.0; below 2**53 such a number is exact, so read it.
    if (
        isinstance(value, float)
        and value.is_integer()
        and abs(value) < limits.amount_float_exact_max
    ):
        return int(value)
    return value


MinorUnits = Annotated[
    int,
    Field(ge=-AMOUNT_ABS_MAX, le=AMOUNT_ABS_MAX, strict=True, description="Minor units."),
    BeforeValidator(integral_number),
]
"""A signed amount in minor units (paise, cents), within the ledger's bound."""
PositiveMinorUnits = Annotated[
    int,
    Field(ge=1, le=AMOUNT_ABS_MAX, strict=True, description="Minor units, at least 1."),
    BeforeValidator(integral_number),
]
"""A movement's amount in minor units: at least one, within the ledger's bound."""
NonNegativeMinorUnits = Annotated[
    int,
    Field(ge=0, le=AMOUNT_ABS_MAX, strict=True, description="Minor units, 0 or more."),
    BeforeValidator(integral_number),
]


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidAmount("amount must be an integer number of minor units")
        if abs(self.amount) > AMOUNT_ABS_MAX:
            raise InvalidAmount("amount is out of range")
        exponent(self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def format(self) -> str:
        """Major units with the currency's exponent, e.g. `8884.88 INR`."""
        digits = exponent(self.currency)
        return f"{self.to_decimal():.{digits}f} {self.currency}"

    @classmethod
    def parse(cls, major: str | Decimal, currency: str) -> Money:
        """Major units (`"12.34"`) to Money; refuses more decimals than the currency has."""
        digits = exponent(currency)
        try:
            value = Decimal(major)
        except (InvalidOperation, ValueError) as exc:
            raise InvalidAmount(f"{major!r} is not a number") from exc
        if not value.is_finite():
            raise InvalidAmount(f"{major!r} is not a finite number")
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(f"{currency} takes at most {digits} decimal places")
        return cls(int(scaled), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Money:
        """Round a computed major-unit Decimal to the currency's minor unit (banker's rounding)."""
        digits = exponent(currency)
        quantum = Decimal(1).scaleb(-digits)
        return cls(int(value.quantize(quantum, rounding=ROUND_HALF_EVEN).scaleb(digits)), currency)


class MoneyModel(BaseModel):
    """`{"amount": 12345, "currency": "INR"}` in the API: minor units, never floats."""

    model_config = ConfigDict(frozen=True)

    amount: MinorUnits
    currency: CurrencyCode

    def to_money(self) -> Money:
        return Money(self.amount, self.currency)

    @classmethod
    def of(cls, money: Money) -> MoneyModel:
        return cls(amount=money.amount, currency=money.currency)


class PositiveMoneyModel(MoneyModel):
    """An amount that moves money: at least one minor unit."""

    amount: PositiveMinorUnits


class NonNegativeMoneyModel(MoneyModel):
    """An amount that may be zero but never negative."""

    amount: NonNegativeMinorUnits


class LedgerMoneyModel(MoneyModel):
    """A ledger amount: as `MoneyModel`, in any currency the ledger holds (metals too)."""

    currency: LedgerCurrencyCode


class LedgerPositiveMoneyModel(PositiveMoneyModel):
    """A ledger movement's amount: at least one minor unit, metals too."""

    currency: LedgerCurrencyCode
