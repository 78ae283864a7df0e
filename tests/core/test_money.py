from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from moneyrail.core.money import (
    CurrencyMismatch,
    InvalidAmount,
    Money,
    MoneyModel,
    UnknownCurrency,
    exponent,
)


def test_exponents_follow_iso_4217() -> None:
    assert exponent("INR") == 2
    assert exponent("JPY") == 0
    assert exponent("KWD") == 3
    assert exponent("USD") == 2
    assert exponent("ETB") == 2
    assert exponent("NGN") == 2
    with pytest.raises(UnknownCurrency):
        exponent("XYZ")


def test_parse_and_format() -> None:
    assert Money.parse("8884.88", "INR") == Money(888488, "INR")
    assert Money.parse("100", "JPY") == Money(100, "JPY")
    assert Money(888488, "INR").format() == "8884.88 INR"
    assert Money(1234, "KWD").format() == "1.234 KWD"
    with pytest.raises(InvalidAmount):
        Money.parse("1.234", "INR")
    with pytest.raises(InvalidAmount):
        Money.parse("NaN", "INR")
    with pytest.raises(InvalidAmount):
        Money.parse("abc", "INR")


def test_no_floats() -> None:
    with pytest.raises(InvalidAmount):
        Money(1.5, "INR")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MoneyModel.model_validate({"amount": 1.5, "currency": "INR"})
    with pytest.raises(ValidationError):
        MoneyModel.model_validate({"amount": "100", "currency": "INR"})
    with pytest.raises(ValidationError):
        MoneyModel.model_validate({"amount": 100, "currency": "ABC"})
    assert MoneyModel.model_validate({"amount": 100, "currency": "inr"}).currency == "INR"


def test_arithmetic_refuses_mixed_currencies() -> None:
    assert Money(5, "INR") + Money(7, "INR") == Money(12, "INR")
    with pytest.raises(CurrencyMismatch):
        Money(5, "INR") + Money(5, "USD")


def test_from_decimal_rounds_half_even() -> None:
    assert Money.from_decimal(Decimal("0.125"), "INR") == Money(12, "INR")
    assert Money.from_decimal(Decimal("0.135"), "INR") == Money(14, "INR")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["INR", "JPY", "KWD"]))
def test_parse_format_round_trip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.parse(money.format().split()[0], currency) == money
