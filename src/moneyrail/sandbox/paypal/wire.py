"""PayPal's wire format as the sandbox reads and writes it: amounts (`{"currency_code",
"value"}`, whole numbers for JPY, HUF and TWD), HATEOAS links, timestamps, and errors as
`{"name", "message", "debug_id", "details": [{"issue", "description"}], "links"}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from moneyrail.sandbox.state import SandboxError, new_id

ZERO_DECIMAL = {"JPY", "HUF", "TWD"}
Body = dict[str, Any]
Handler = Callable[[Body, str, Request], Awaitable[tuple[int, Body | None]]]
MESSAGES = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication credentials.",
    ),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
    ),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}


def error(
    status: int,
    issue: str | None = None,
    description: str | None = None,
    *,
    field: str | None = None,
) -> SandboxError:
    name, message = MESSAGES.get(
        status, ("INTERNAL_SERVER_ERROR", "An internal server error occurred.")
    )
    body: Body = {"name": name, "message": message, "debug_id": new_id("", 13, "0123456789abcdef")}
    if issue:
        detail: Body = {"issue": issue, "description": description or issue}
        if field:
            detail.update(field=field, location="body")
        body["details"] = [detail]
        body["links"] = [
            {
                "href": f"https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}",
                "rel": "information_link",
                "method": "GET",
            }
        ]
    return SandboxError(status, body)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Any, field: str) -> Body:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("value"), str)
        or not isinstance(value.get("currency_code"), str)
    ):
        raise error(
            400,
            "MISSING_REQUIRED_PARAMETER",
            "A required field / parameter is missing.",
            field=field,
        )
    try:
        amount = Decimal(value["value"])
    except InvalidOperation as exc:
        raise error(
            400,
            "INVALID_PARAMETER_VALUE",
            "The value of a field is invalid.",
            field=f"{field}/value",
        ) from exc
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):
        raise error(
            400,
            "INVALID_PARAMETER_VALUE",
            "The value of a field is invalid.",
            field=f"{field}/value",
        )
    places = max(0, -exponent)
    if value["currency_code"] in ZERO_DECIMAL and places > 0:
        raise error(
            422,
            "DECIMALS_NOT_SUPPORTED",
            "Currency does not support decimals.",
            field=f"{field}/value",
        )
    if places > 2:
        raise error(
            422,
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            field=f"{field}/value",
        )
    if amount <= 0:
        raise error(
            422, "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", field=f"{field}/value"
        )
    return {"currency_code": value["currency_code"], "value": value["value"]}


def fmt(amount: Decimal, currency: str) -> str:
    return f"{amount:.0f}" if currency in ZERO_DECIMAL else f"{amount:.2f}"


def link(href: str, rel: str, method: str = "GET") -> Body:
    return {"href": href, "rel": rel, "method": method}


def activate(sub: Body) -> None:
    """The payer approved: the subscription is ACTIVE, its first cycle billed."""
    start = datetime.now(UTC)
    sub.update(
        status="ACTIVE",
        status_update_time=now_iso(),
        start_time=sub.get("start_time") or now_iso(),
        subscriber=sub.get("subscriber")
        or {"email_address": "buyer@example.com", "payer_id": "SANDBXPAYER23"},
    )
    interval = sub.get("_interval") or ("MONTH", 1)
    days = {"DAY": 1, "WEEK": 7, "MONTH": 30, "YEAR": 365}[interval[0]] * int(interval[1])
    sub["billing_info"] = {
        "outstanding_balance": {"currency_code": sub.get("_currency", "USD"), "value": "0.00"},
        "cycle_executions": [
            {
                "tenure_type": "REGULAR",
                "sequence": 1,
                "cycles_completed": 1,
                "cycles_remaining": 0,
                "total_cycles": 0,
            }
        ],
        "next_billing_time": (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "failed_payments_count": 0,
    }
