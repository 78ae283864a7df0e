"""Paystack's API as the connector calls it: `Authorization: Bearer sk_…`, JSON bodies and
Paystack's `{"status": true|false, "message", "data"}` envelope; the currencies Paystack
takes and the transaction `reference` an idempotency key becomes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from moneyrail.connectors.base import Credentials, PaymentStatus, ProviderDeclined
from moneyrail.connectors.http import (
    HostedCheckoutConnector,
    HttpOptions,
    json_body,
    raise_for_client_error,
)
from moneyrail.connectors.values import digest_reference

# Paystack's published currency list. Each takes amounts in hundredths (kobo, pesewas, cents),
# which is our minor unit for all five; others are declined before anything is sent.
CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD"})

_REFERENCE_ALLOWED = re.compile(r"^[A-Za-z0-9.=-]+$")


def provider_reference(idempotency_key: str) -> str:
    """The Paystack `reference` for an idempotency key: the key itself when Paystack allows
    its characters (`-`, `.`, `=` and alphanumerics), otherwise a digest of it. Either way the
    same key always yields the same reference."""
    return digest_reference(idempotency_key, _REFERENCE_ALLOWED)


class PaystackApi(HostedCheckoutConnector):
    """Calls to Paystack; the connector's parts build on it."""

    name = "paystack"
    settled = (PaymentStatus.captured, PaymentStatus.partially_refunded, PaymentStatus.refunded)

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        options = super()._http_options(credentials)
        # Paystack signs webhooks with the secret key; older keys come from webhook_secrets.
        self._webhook_secrets = credentials.webhook_secrets
        return options

    async def _call(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None, retry: bool
    ) -> dict[str, Any]:
        """One API call and Paystack's envelope: `{"status": true, "message", "data"}` on
        success, `{"status": false, "message", "code"?}` on failure."""
        response = await self.http.request(method, path, json=body, retry=retry)
        payload = json_body(response)
        raise_for_client_error(
            response,
            message=str(payload.get("message") or "") or None,
            provider_code=payload.get("code") if isinstance(payload.get("code"), str) else None,
        )
        if payload.get("status") is not True:
            raise ProviderDeclined(str(payload.get("message") or "paystack refused the request"))
        return payload
