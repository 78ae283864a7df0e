from __future__ import annotations

from moneyrail.payments.routing.rules import PaymentFacts, RoutingTable, Rule, builtin_order, route


def test_first_matching_rule_wins() -> None:
    table = RoutingTable(
        rules=(
            Rule(providers=("razorpay",), currency="INR", amount_max=100_000),
            Rule(providers=("stripe", "paypal"), currency="INR"),
            Rule(providers=("paystack",), country="NG"),
        ),
        default=("paypal",),
    )
    assert route(table, PaymentFacts(amount=5_000, currency="INR")) == ["razorpay"]
    assert route(table, PaymentFacts(amount=500_000, currency="INR")) == ["stripe", "paypal"]
    assert route(table, PaymentFacts(amount=1, currency="NGN", country="NG")) == ["paystack"]
    assert route(table, PaymentFacts(amount=1, currency="EUR")) == ["paypal"]


def test_amount_range_bounds_are_inclusive_and_method_matches() -> None:
    rule = Rule(providers=("stripe",), amount_min=100, amount_max=200, method="card")
    assert rule.matches(PaymentFacts(amount=100, currency="USD", method="card"))
    assert rule.matches(PaymentFacts(amount=200, currency="USD", method="card"))
    assert not rule.matches(PaymentFacts(amount=201, currency="USD", method="card"))
    assert not rule.matches(PaymentFacts(amount=150, currency="USD", method="upi"))


def test_builtin_order_without_configuration() -> None:
    assert route(RoutingTable(), PaymentFacts(amount=1, currency="ETB")) == ["chapa"]
    assert route(RoutingTable(), PaymentFacts(amount=1, currency="USD")) == list(
        builtin_order("USD")
    )


def test_enabled_filter_and_no_repeats() -> None:
    table = RoutingTable(
        default=("stripe", "stripe", "paypal", "razorpay"),
        enabled=frozenset({"paypal", "razorpay"}),
    )
    assert route(table, PaymentFacts(amount=1, currency="USD")) == ["paypal", "razorpay"]
