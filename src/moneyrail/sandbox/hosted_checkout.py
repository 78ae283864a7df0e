"""The hosted checkout page and dashboard settings shared by the Paystack, Flutterwave and
Chapa sandboxes: a page the payer pays or declines on (`GET|POST /_sandbox/checkout/{token}`,
POST `{"outcome": "success"|"failed"}` as JSON or a form), the redirect back to the
merchant, major-unit amounts and the webhook settings an account keeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from moneyrail.core.money import exponent
from moneyrail.sandbox.http import is_form, read_body
from moneyrail.sandbox.state import SandboxState

OUTCOMES = ("success", "failed")


def major_amount(value: Any, currency: str) -> Decimal | None:
    """A positive major-unit amount with no more decimals than the currency has."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    scaled = amount.scaleb(exponent(currency))
    return amount if scaled == scaled.to_integral_value() else None


def fee_quantum(currency: str) -> Decimal:
    """The currency's smallest unit as a major-unit Decimal (`0.01` for NGN)."""
    return Decimal(1).scaleb(-exponent(currency))


def checkout_page(*, provider: str, currency: str, amount: str, email: Any, reference: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{provider} sandbox checkout"
        "</title></head><body style='font-family:sans-serif;max-width:28rem;margin:3rem auto'>"
        f"<h1>Pay {escape(currency)} {escape(amount)}</h1>"
        f"<p>{escape(str(email or ''))} &middot; {escape(reference)}</p>"
        "<form method='post'><button name='outcome' value='success'>Pay</button> "
        "<button name='outcome' value='failed'>Decline</button></form></body></html>"
    )


def invalid_link(what: str) -> HTMLResponse:
    return HTMLResponse(f"<h1>This {what} is not valid</h1>", status_code=404)


async def read_outcome(request: Request) -> tuple[str | None, bool]:
    """The payer's choice (None when it is neither outcome) and whether the HTML form sent it
    (only then is the payer redirected back to the merchant)."""
    form = is_form(request)
    body = await read_body(request) or {}
    outcome = body.get("outcome", "success")
    return (outcome if outcome in OUTCOMES else None), form


def redirect_back(url: str, query: Mapping[str, Any]) -> RedirectResponse:
    """303 to the merchant's return URL with the provider's query parameters appended."""
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{urlencode(query)}", 303)


def settings_of(state: SandboxState, account: str) -> dict[str, str]:
    """The account's dashboard settings (webhook URL, secret hash), created empty."""
    settings = state.get(f"settings:{account}", owner=account)
    if settings is None:
        settings = state.put(f"settings:{account}", {}, owner=account)
    return settings


def update_settings(
    settings: dict[str, str], body: Mapping[str, Any], names: Iterable[str]
) -> dict[str, str]:
    """Set each named value given as a non-empty string; clear it when given otherwise."""
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value:
            settings[name] = value
        elif name in body:
            settings.pop(name, None)
    return settings
