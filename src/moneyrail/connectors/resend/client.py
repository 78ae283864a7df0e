"""Resend e-mail: send, fetch, and verify its delivery events.

Wire format as Resend's: `POST /emails` with JSON `{from, to, subject, html|text}` and
`Authorization: Bearer re_…`, answered `{id}`; errors `{statusCode, name, message}`.
Its webhooks are signed the Svix way (`svix-id`, `svix-timestamp`, `svix-signature`:
space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, key = base64-decoded
secret after `whsec_`, timestamps within 5 minutes), which the `standardwebhooks` verifier
implements exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from moneyrail.connectors.base import (
    ProviderDeclined,
    ProviderError,
    http_client,
    send,
)

# Resend's event types and the message status each one means for us.
EVENT_STATUS = {
    "email.sent": "sent",
    "email.delivered": "delivered",
    "email.delivery_delayed": "sent",
    "email.bounced": "failed",
    "email.complained": "delivered",
    "email.failed": "failed",
}


@dataclass(frozen=True)
class ResendEmail:
    id: str
    raw: Mapping[str, Any] = field(default_factory=dict)


class ResendClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.resend.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = http_client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send_email(
        self,
        *,
        sender: str,
        to: str,
        subject: str,
        text: str | None,
        html: str | None,
        idempotency_key: str | None = None,
    ) -> ResendEmail:
        """Raises: ProviderDeclined (4xx), ProviderUnavailable, ProviderTimeout, ProviderError."""
        payload: dict[str, Any] = {"from": sender, "to": [to], "subject": subject}
        if html:
            payload["html"] = html
        if text:
            payload["text"] = text
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        request = self.client.build_request("POST", "/emails", json=payload, headers=headers)
        data = self._json(await send(self.client, request))
        return ResendEmail(id=data["id"], raw=data)

    async def get_email(self, email_id: str) -> dict[str, Any]:
        request = self.client.build_request("GET", f"/emails/{email_id}")
        return self._json(await send(self.client, request))

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 500:
            raise ProviderError(f"Resend answered {response.status_code}")
        if response.status_code >= 400:
            raise ProviderDeclined(
                f"Resend error {data.get('name')}: {data.get('message')}",
                extra={"provider_code": data.get("name")},
            )
        return data if isinstance(data, dict) else {}
