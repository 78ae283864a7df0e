"""PayPal's wire format read and written: amount strings, HATEOAS links, and orders,
refunds and subscriptions as the connector's `ProviderPayment`, `ProviderRefund` and
`ProviderSubscription` (an order's state is told by its captures, refunds and
authorizations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moneyrail.connectors.base import (
    PaymentStatus,
    ProviderDeclined,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    RefundStatus,
    SubscriptionStatus,
)
from moneyrail.connectors.values import major_units, utc_timestamp
from moneyrail.core.money import Money

PROVIDER = "paypal"
NO_DECIMALS = {"JPY", "HUF", "TWD"}
ACTION_STATUSES = {"CREATED", "SAVED", "PAYER_ACTION_REQUIRED"}
DONE_CAPTURES = {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}
REFUND_STATUS = {
    "COMPLETED": RefundStatus.succeeded,
    "PENDING": RefundStatus.pending,
    "FAILED": RefundStatus.failed,
    "CANCELLED": RefundStatus.failed,
}
SUBSCRIPTION_STATUS = {
    "APPROVAL_PENDING": SubscriptionStatus.requires_action,
    "APPROVED": SubscriptionStatus.active,
    "ACTIVE": SubscriptionStatus.active,
    "SUSPENDED": SubscriptionStatus.paused,
    "CANCELLED": SubscriptionStatus.cancelled,
    "EXPIRED": SubscriptionStatus.completed,
}


def value_of(money: Money) -> str:
    """PayPal's amount string; currencies PayPal takes without decimals must be whole."""
    if money.currency in NO_DECIMALS:
        whole = money.to_decimal()
        if whole != whole.to_integral_value():
            raise ProviderDeclined(f"PayPal takes {money.currency} amounts without decimals")
        return f"{whole:.0f}"
    return major_units(money)


def money_of(amount: Mapping[str, Any]) -> Money:
    return Money.parse(str(amount["value"]), str(amount["currency_code"]))


def link(obj: Mapping[str, Any], *rels: str) -> str | None:
    for item in obj.get("links") or []:
        if item.get("rel") in rels:
            return str(item["href"])
    return None


def payment_of(order: Mapping[str, Any]) -> ProviderPayment:
    unit = (order.get("purchase_units") or [{}])[0]
    amount = money_of(unit["amount"])
    payments = unit.get("payments") or {}
    captures = payments.get("captures") or []
    refunds = payments.get("refunds") or []
    authorizations = payments.get("authorizations") or []
    captured = sum(
        (money_of(c["amount"]).amount for c in captures if c.get("status") in DONE_CAPTURES), 0
    )
    refunded = sum(
        (money_of(r["amount"]).amount for r in refunds if r.get("status") == "COMPLETED"), 0
    )
    status = {
        "APPROVED": PaymentStatus.authorized,
        "VOIDED": PaymentStatus.cancelled,
    }.get(str(order.get("status")), PaymentStatus.requires_action)
    if order.get("status") == "COMPLETED":
        capture_states = {c.get("status") for c in captures}
        auth_states = {a.get("status") for a in authorizations}
        if captured:
            status = PaymentStatus.captured
            if refunded:
                status = (
                    PaymentStatus.refunded
                    if refunded >= captured
                    else PaymentStatus.partially_refunded
                )
        elif "PENDING" in capture_states or "PENDING" in auth_states:
            status = PaymentStatus.processing
        elif auth_states & {"CREATED"}:
            status = PaymentStatus.authorized
        elif auth_states & {"VOIDED"}:
            status = PaymentStatus.cancelled
        else:
            status = PaymentStatus.failed
    fee = None
    for capture in captures:
        breakdown = capture.get("seller_receivable_breakdown") or {}
        if breakdown.get("paypal_fee"):
            fee = (fee or 0) + money_of(breakdown["paypal_fee"]).amount
    return ProviderPayment(
        provider=PROVIDER,
        provider_payment_id=str(order["id"]),
        status=status,
        amount=amount,
        captured_amount=captured,
        refunded_amount=refunded,
        fee=fee,
        next_action_url=link(order, "approve", "payer-action")
        if status is PaymentStatus.requires_action
        else None,
        raw=order,
    )


def refund_of(refund: Mapping[str, Any], order_id: str) -> ProviderRefund:
    return ProviderRefund(
        provider=PROVIDER,
        provider_refund_id=str(refund["id"]),
        provider_payment_id=order_id,
        status=REFUND_STATUS.get(str(refund.get("status")), RefundStatus.pending),
        amount=money_of(refund["amount"]),
        raw=refund,
    )


def subscription_of(sub: Mapping[str, Any]) -> ProviderSubscription:
    status = SUBSCRIPTION_STATUS.get(str(sub.get("status")), SubscriptionStatus.past_due)
    billing = sub.get("billing_info") or {}
    return ProviderSubscription(
        provider=PROVIDER,
        provider_subscription_id=str(sub["id"]),
        status=status,
        plan_id=str(sub.get("plan_id") or ""),
        quantity=int(float(sub.get("quantity") or 1)),
        next_action_url=link(sub, "approve")
        if status is SubscriptionStatus.requires_action
        else None,
        current_period_end=utc_timestamp(billing.get("next_billing_time")),
        raw=sub,
    )
