"""Twilio Programmable Messaging: send an SMS, fetch it, verify status callbacks.

Wire format as Twilio's: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with a
form-encoded body (`To`, `From`, `Body`, `StatusCallback`), HTTP Basic `AccountSid:AuthToken`,
JSON answers (`sid`, `status`, …) and errors `{code, message, more_info, status}`.
Status callbacks are form POSTs signed with `X-Twilio-Signature`: base64 HMAC-SHA1, keyed
with the auth token, over the full URL followed by every POST parameter's name and value
in name order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from moneyrail.connectors.base import ProviderDeclined, ProviderError, http_client, send

API_VERSION = "2010-04-01"

# Twilio's message statuses, and which of ours each one means.
STATUS_MAP = {
    "accepted": "sending",
    "scheduled": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


@dataclass(frozen=True)
class TwilioMessage:
    sid: str
    status: str
    to: str
    from_: str | None
    error_code: int | None = None
    error_message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class TwilioClient:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str = "https://api.twilio.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.client = http_client(
            base_url=base_url.rstrip("/"), transport=transport, auth=(account_sid, auth_token)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send_sms(
        self, *, to: str, from_: str, body: str, status_callback: str | None = None
    ) -> TwilioMessage:
        """Raises: ProviderDeclined (4xx), ProviderUnavailable, ProviderTimeout, ProviderError."""
        form = {"To": to, "From": from_, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        request = self.client.build_request(
            "POST", f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json", data=form
        )
        return self._message(await send(self.client, request))

    async def get_message(self, sid: str) -> TwilioMessage:
        request = self.client.build_request(
            "GET", f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        )
        return self._message(await send(self.client, request))

    def _message(self, response: httpx.Response) -> TwilioMessage:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 500:
            raise ProviderError(f"Twilio answered {response.status_code}")
        if response.status_code >= 400:
            raise ProviderDeclined(
                f"Twilio error {data.get('code')}: {data.get('message')}",
                extra={"provider_code": data.get("code")},
            )
        return TwilioMessage(
            sid=data["sid"],
            status=data["status"],
            to=data.get("to", ""),
            from_=data.get("from"),
            error_code=data.get("error_code"),
            error_message=data.get("error_message"),
            raw=data,
        )
