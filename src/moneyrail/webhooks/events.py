"""The catalogue of public event types: what tenants can subscribe their endpoints to.

Every event leaves through the outbox as the envelope `{id, type, created_at, tenant_id, data}`.
Types in this catalogue (or in one of its families, e.g. `payment.*`) are delivered to the
tenant's webhook endpoints; anything else (internal commands such as `messaging.send`) only
runs the registered outbox handlers.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    # ledger
    "transfer.posted": "A ledger transfer was posted.",
    "transfer.pending": "A pending (two-phase) transfer was created.",
    "transfer.voided": "A pending transfer was voided.",
    "transfer.reversed": "A posted transfer was reversed.",
    "hold.created": "Funds were put on hold.",
    "hold.captured": "A hold was captured.",
    "hold.voided": "A hold was released without capture.",
    "hold.expired": "A hold expired.",
    # banking
    "account.opened": "A bank account was opened.",
    "account.frozen": "A bank account was frozen.",
    "account.unfrozen": "A bank account was unfrozen.",
    "account.closed": "A bank account was closed.",
    "deposit.completed": "A deposit was credited.",
    "withdrawal.completed": "A withdrawal was debited.",
    "loan.approved": "A loan was approved.",
    "loan.disbursed": "A loan was disbursed.",
    "loan.repaid": "A loan repayment was received.",
    "loan.closed": "A loan was repaid in full.",
    # payments
    "payment.created": "A payment was created.",
    "payment.authorized": "A payment was authorized.",
    "payment.captured": "A payment was captured.",
    "payment.failed": "A payment failed.",
    "payment.cancelled": "A payment was cancelled.",
    "refund.created": "A refund was requested.",
    "refund.succeeded": "A refund succeeded.",
    "refund.failed": "A refund failed.",
    "subscription.created": "A subscription was created.",
    "subscription.updated": "A subscription changed state.",
    "subscription.cancelled": "A subscription was cancelled.",
    # bills
    "bill.fetched": "A bill was fetched from the biller.",
    "bill.paid": "A bill payment succeeded.",
    "bill.failed": "A bill payment failed.",
    "complaint.updated": "A BBPS complaint changed state.",
    # trading
    "order.placed": "A broker order was placed.",
    "order.updated": "A broker order changed state.",
    "order.filled": "A broker order was filled.",
    "order.cancelled": "A broker order was cancelled.",
    "order.rejected": "A broker order was rejected.",
    "trade.settled": "A trade settled.",
    # messaging
    "message.queued": "An SMS or e-mail was accepted for sending.",
    "message.sent": "The provider accepted an SMS or e-mail.",
    "message.delivered": "The provider reported delivery.",
    "message.failed": "Sending failed or the provider reported it undelivered.",
    # credits
    "credits.purchased": "Credits were bought.",
    "credits.low": "The credit balance fell below its threshold.",
    # webhooks
    "webhook.test": "A test event sent with POST /webhooks/{id}/test.",
}

# Families whose every member is public, including types added by a domain later.
PUBLIC_FAMILIES = frozenset(
    {
        "transfer",
        "hold",
        "account",
        "deposit",
        "withdrawal",
        "loan",
        "payment",
        "refund",
        "subscription",
        "bill",
        "complaint",
        "order",
        "trade",
        "message",
        "credits",
    }
)


def family_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def is_public(event_type: str) -> bool:
    return event_type in EVENT_TYPES or family_of(event_type) in PUBLIC_FAMILIES


def is_valid_filter(pattern: str) -> bool:
    """An endpoint filter is a catalogued type, a public family (`payment.*`) or `*`."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return pattern[:-2] in PUBLIC_FAMILIES
    return is_public(pattern)


def matches(filters: list[str], event_type: str) -> bool:
    """Whether an endpoint with these filters receives `event_type` (empty: every event)."""
    if not is_public(event_type):
        return False
    if not filters:
        return True
    family = family_of(event_type) + ".*"
    return any(f in ("*", event_type, family) for f in filters)


def catalogue_markdown() -> str:
    lines = [
        "Webhook event types. Each delivery is a POST of the envelope "
        "`{id, type, created_at, tenant_id, data}` signed per Standard Webhooks "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`). Subscribe to a type, "
        "a family (`payment.*`) or everything (no filter).",
        "",
        "| type | when |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in EVENT_TYPES.items()]
    return "\n".join(lines)
