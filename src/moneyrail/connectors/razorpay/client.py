"""Razorpay: orders paid through Checkout, captures, refunds and subscriptions.

Amounts are paise (integer minor units). Our payment is a Razorpay *order*: its id is the
provider payment id, and the customer pays it in Razorpay Checkout (in test mode the
sandbox's checkout page is `next_action_url`). Captures and refunds act on the order's
Razorpay payment (`pay_…`).

Razorpay has no idempotency header. Our idempotency key travels as the order's `receipt`
(and a refund's), and a create that failed with 429/5xx is retried only after looking the
receipt up (`GET /v1/orders?receipt=`), so a retry never makes a second order. Other
writes are not retried; reads are. Webhooks: `X-Razorpay-Signature`, event id in
`X-Razorpay-Event-Id`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from moneyrail.connectors.base import (
    CaptureMode,
    CreatePayment,
    CreatePlan,
    CreateSubscription,
    Credentials,
    Environment,
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderPayment,
    ProviderRefund,
    ProviderSubscription,
    RefundStatus,
    SubscriptionStatus,
    WebhookEvent,
)
from moneyrail.connectors.http import (
    HttpConnector,
    HttpOptions,
    json_body,
    raise_for_client_error,
    require_value,
    retrying,
)
from moneyrail.connectors.razorpay.webhooks import event_of, verify_razorpay
from moneyrail.connectors.values import minor_money, unix_timestamp
from moneyrail.core import limits
from moneyrail.core.money import Money

RECEIPT_LENGTH_MAX = 40
NOTES_MAX = 15
NOTE_LENGTH_MAX = 256
# "Fetch all subscriptions": at most 100 a page; a lost create is looked for in 10 pages.
_LIST_PAGE = 100
_LIST_PAGES_MAX = 10
PERIODS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}
REFUND_STATUS = {
    "pending": RefundStatus.pending,
    "processed": RefundStatus.succeeded,
    "failed": RefundStatus.failed,
}
SUBSCRIPTION_STATUS = {
    "created": SubscriptionStatus.requires_action,
    "authenticated": SubscriptionStatus.active,
    "active": SubscriptionStatus.active,
    "pending": SubscriptionStatus.past_due,
    "halted": SubscriptionStatus.past_due,
    "paused": SubscriptionStatus.paused,
    "cancelled": SubscriptionStatus.cancelled,
    "completed": SubscriptionStatus.completed,
    "expired": SubscriptionStatus.cancelled,
}
# Which of an order's payments tells its state: the furthest along wins.
PAYMENT_RANK = {"refunded": 4, "captured": 4, "authorized": 3, "created": 2, "failed": 1}


def receipt_for(idempotency_key: str) -> str:
    """Razorpay receipts hold at most 40 characters; longer keys are hashed to fit."""
    if len(idempotency_key) <= RECEIPT_LENGTH_MAX:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:RECEIPT_LENGTH_MAX]


def notes(values: Mapping[str, str]) -> dict[str, str]:
    return {k: str(v)[:NOTE_LENGTH_MAX] for k, v in list(values.items())[:NOTES_MAX]}


class RazorpayConnector(HttpConnector):
    name = "razorpay"
    # The payment it answers carries every refund made of it, partial ones included.
    reports_partial_refunds = True

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        key_id = require_value(credentials, "key_id")
        key_secret = require_value(credentials, "key_secret")
        return None, (key_id, key_secret)

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.http.request(
            method, path, retry=method == "GET", json=body, params=params
        )
        data = json_body(response)
        if response.status_code >= 400:
            found = data.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            raise_for_client_error(
                response,
                message=error.get("description"),
                provider_code=error.get("reason") or error.get("code"),
            )
        return data

    # --- payments ---------------------------------------------------------------------------

    async def _order_payments(self, order_id: str) -> list[dict[str, Any]]:
        collection = await self._call("GET", f"/v1/orders/{order_id}/payments")
        return [p for p in collection.get("items") or [] if isinstance(p, dict)]

    def _checkout_url(self, order_id: str) -> str | None:
        if self.credentials.environment is not Environment.test:
            return None  # live: the page opens Razorpay Checkout with the order id
        return f"{self.http.base_url}/_sandbox/checkout/{order_id}"

    def _payment(self, order: Mapping[str, Any], payments: list[dict[str, Any]]) -> ProviderPayment:
        best = max(payments, key=lambda p: PAYMENT_RANK.get(str(p.get("status")), 0), default=None)
        money = minor_money(order)
        if best is None:
            return ProviderPayment(
                provider=self.name,
                provider_payment_id=str(order["id"]),
                status=PaymentStatus.requires_action,
                amount=money,
                next_action_url=self._checkout_url(str(order["id"])),
                raw={"order": order, "payments": payments},
            )
        status = {
            "created": PaymentStatus.processing,
            "authorized": PaymentStatus.authorized,
            "captured": PaymentStatus.captured,
            "refunded": PaymentStatus.refunded,
            "failed": PaymentStatus.failed,
        }.get(str(best.get("status")), PaymentStatus.processing)
        refunded = int(best.get("amount_refunded") or 0)
        if status is PaymentStatus.captured and best.get("refund_status") == "partial":
            status = PaymentStatus.partially_refunded
        captured = bool(best.get("captured"))
        return ProviderPayment(
            provider=self.name,
            provider_payment_id=str(order["id"]),
            status=status,
            amount=money,
            captured_amount=int(best["amount"]) if captured else 0,
            refunded_amount=refunded,
            fee=best.get("fee") if isinstance(best.get("fee"), int) else None,
            next_action_url=self._checkout_url(str(order["id"]))
            if status is PaymentStatus.failed
            else None,
            raw={"order": order, "payments": payments},
        )

    async def create_payment(self, request: CreatePayment) -> ProviderPayment:
        receipt = receipt_for(request.idempotency_key)
        body = {
            "amount": request.amount.amount,
            "currency": request.amount.currency,
            "receipt": receipt,
            "payment_capture": request.capture is CaptureMode.automatic,
            "notes": notes({"reference": request.reference, **request.metadata}),
        }
        order: dict[str, Any] | None = None
        async for attempt in retrying():
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    order = await self._order_by_receipt(receipt)
                if order is None:
                    order = await self._call("POST", "/v1/orders", body)
        assert order is not None
        return self._payment(order, [])

    async def _order_by_receipt(self, receipt: str) -> dict[str, Any] | None:
        found = await self._call("GET", "/v1/orders", params={"receipt": receipt})
        items = [o for o in found.get("items") or [] if isinstance(o, dict)]
        return items[0] if items else None

    async def get_payment(self, provider_payment_id: str) -> ProviderPayment:
        if provider_payment_id.startswith("pay_"):
            payment = await self._call("GET", f"/v1/payments/{provider_payment_id}")
            provider_payment_id = str(payment.get("order_id") or "")
            if not provider_payment_id:
                order = {
                    "id": payment["id"],
                    "amount": payment["amount"],
                    "currency": payment["currency"],
                }
                return self._payment(order, [payment])
        order = await self._call("GET", f"/v1/orders/{provider_payment_id}")
        return self._payment(order, await self._order_payments(provider_payment_id))

    async def find_payment(self, *, reference: str, idempotency_key: str) -> ProviderPayment | None:
        """The payment a create with this `reference` (our payment id) and idempotency key
        made, looked up without sending the create again; None when the provider has none.

        The order is found by its `receipt` (`GET /v1/orders?receipt=`), which carries our
        idempotency key, then read with its payments like `get_payment`.
        """
        order = await self._order_by_receipt(receipt_for(idempotency_key))
        if order is None:
            return None
        return self._payment(order, await self._order_payments(str(order["id"])))

    async def _payment_in(self, order_id: str, statuses: set[str]) -> dict[str, Any]:
        for payment in await self._order_payments(order_id):
            if payment.get("status") in statuses:
                return payment
        raise ProviderDeclined(
            f"order {order_id} has no payment that is {' or '.join(sorted(statuses))}",
            extra={"provider_code": "no_eligible_payment"},
        )

    async def capture(
        self, provider_payment_id: str, *, amount: Money | None, idempotency_key: str
    ) -> ProviderPayment:
        payment = await self._payment_in(provider_payment_id, {"authorized", "captured"})
        if payment.get("status") == "authorized":
            # Capturing twice only answers "already captured", so a lost answer is
            # resolved by reading the order again rather than by a second charge.
            await self._call(
                "POST",
                f"/v1/payments/{payment['id']}/capture",
                {
                    "amount": amount.amount if amount else payment["amount"],
                    "currency": payment["currency"],
                },
            )
        return await self.get_payment(provider_payment_id)

    async def cancel(self, provider_payment_id: str, *, idempotency_key: str) -> ProviderPayment:
        raise ProviderNotSupported(
            "Razorpay cannot cancel an order or void an authorization; uncaptured payments "
            "are refunded by Razorpay automatically"
        )

    def _refund(self, refund: Mapping[str, Any], payment_id: str) -> ProviderRefund:
        return ProviderRefund(
            provider=self.name,
            provider_refund_id=str(refund["id"]),
            provider_payment_id=payment_id,
            status=REFUND_STATUS.get(str(refund.get("status")), RefundStatus.pending),
            amount=minor_money(refund),
            raw=refund,
        )

    async def refund(
        self,
        provider_payment_id: str,
        *,
        amount: Money,
        idempotency_key: str,
        reason: str | None = None,
    ) -> ProviderRefund:
        payment = await self._payment_in(provider_payment_id, {"captured", "refunded"})
        refund = await self._call(
            "POST",
            f"/v1/payments/{payment['id']}/refund",
            {
                "amount": amount.amount,
                "receipt": receipt_for(idempotency_key),
                "notes": notes({"reason": reason} if reason else {}),
            },
        )
        return self._refund(refund, provider_payment_id)

    async def get_refund(self, provider_refund_id: str) -> ProviderRefund:
        refund = await self._call("GET", f"/v1/refunds/{provider_refund_id}")
        payment = await self._call("GET", f"/v1/payments/{refund['payment_id']}")
        return self._refund(refund, str(payment.get("order_id") or refund["payment_id"]))

    # --- subscriptions ----------------------------------------------------------------------

    async def create_plan(self, request: CreatePlan) -> str:
        plan = await self._call(
            "POST",
            "/v1/plans",
            {
                "period": PERIODS[request.interval.value],
                "interval": request.interval_count,
                "item": {
                    "name": request.name,
                    "amount": request.amount.amount,
                    "currency": request.amount.currency,
                },
            },
        )
        return str(plan["id"])

    def _subscription(self, sub: Mapping[str, Any]) -> ProviderSubscription:
        status = SUBSCRIPTION_STATUS.get(str(sub.get("status")), SubscriptionStatus.past_due)
        return ProviderSubscription(
            provider=self.name,
            provider_subscription_id=str(sub["id"]),
            status=status,
            plan_id=str(sub.get("plan_id") or ""),
            quantity=int(sub.get("quantity") or 1),
            next_action_url=sub.get("short_url")
            if status is SubscriptionStatus.requires_action
            else None,
            current_period_end=unix_timestamp(sub.get("current_end")),
            raw=sub,
        )

    async def create_subscription(self, request: CreateSubscription) -> ProviderSubscription:
        sub = await self._call(
            "POST",
            "/v1/subscriptions",
            {
                "plan_id": request.plan_id,
                "total_count": request.total_count or limits.razorpay_subscription_cycles_default,
                "quantity": request.quantity,
                "customer_notify": 1,
                "notes": notes({"reference": request.reference, **request.metadata}),
            },
        )
        return self._subscription(sub)

    async def find_subscription(
        self, *, reference: str, since: datetime | None = None
    ) -> ProviderSubscription | None:
        """The subscription a create with this `reference` (our subscription id, in its
        `notes`) made, looked up without creating it again; None when Razorpay has none.

        Razorpay cannot filter subscriptions by notes: "fetch all subscriptions"
        (`GET /v1/subscriptions`) is paged from the creation time `since` (a minute earlier,
        for clock skew) and matched on `notes.reference`.
        """
        params: dict[str, str] = {"count": str(_LIST_PAGE)}
        if since is not None:
            params["from"] = str(int(since.timestamp()) - 60)
        for page in range(_LIST_PAGES_MAX):
            found = await self._call(
                "GET", "/v1/subscriptions", params={**params, "skip": str(page * _LIST_PAGE)}
            )
            items = [s for s in found.get("items") or [] if isinstance(s, dict)]
            for sub in items:
                if (sub.get("notes") or {}).get("reference") == reference:
                    return self._subscription(sub)
            if len(items) < _LIST_PAGE:
                return None
        return None

    async def get_subscription(self, provider_subscription_id: str) -> ProviderSubscription:
        return self._subscription(
            await self._call("GET", f"/v1/subscriptions/{provider_subscription_id}")
        )

    async def _act(
        self, provider_subscription_id: str, action: str, body: dict[str, Any]
    ) -> ProviderSubscription:
        return self._subscription(
            await self._call("POST", f"/v1/subscriptions/{provider_subscription_id}/{action}", body)
        )

    async def cancel_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "cancel", {"cancel_at_cycle_end": 0})

    async def pause_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "pause", {"pause_at": "now"})

    async def resume_subscription(
        self, provider_subscription_id: str, *, idempotency_key: str
    ) -> ProviderSubscription:
        return await self._act(provider_subscription_id, "resume", {"resume_at": "now"})

    # --- webhooks (see webhooks.py) --------------------------------------------------------

    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, secrets: tuple[str, ...], url: str
    ) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        verify_razorpay(
            signature=lowered.get("x-razorpay-signature"),
            body=body,
            secrets=secrets or self.credentials.webhook_secrets,
        )
        return event_of(body, event_id=lowered.get("x-razorpay-event-id"))
