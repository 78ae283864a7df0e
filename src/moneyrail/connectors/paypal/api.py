"""PayPal's API as the connector calls it: OAuth2 client credentials, the token cached until
shortly before it expires, and one call path that sends `PayPal-Request-Id` (our
idempotency key, which PayPal answers with the first result, so those writes and all reads
are retried) and maps PayPal's error shape onto our errors."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from typing import Any

from moneyrail.connectors.base import Credentials
from moneyrail.connectors.http import (
    HttpConnector,
    HttpOptions,
    ProviderCredentialsRejected,
    json_body,
    raise_for_client_error,
    require_value,
)
from moneyrail.core import limits


class PayPalApi(HttpConnector):
    """Authenticated calls to PayPal; the connector's parts build on it."""

    name = "paypal"

    def _http_options(self, credentials: Credentials) -> HttpOptions:
        pair = f"{require_value(credentials, 'client_id')}:{require_value(credentials, 'client_secret')}"
        self._client_auth = "Basic " + base64.b64encode(pair.encode()).decode()
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        return None, None

    # --- HTTP -------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            response = await self.http.request(
                "POST",
                "/v1/oauth2/token",
                retry=True,
                data={"grant_type": "client_credentials"},
                headers={"Accept": "application/json", "Authorization": self._client_auth},
            )
            body = json_body(response)
            if response.status_code >= 400 or "access_token" not in body:
                raise ProviderCredentialsRejected(
                    str(body.get("error_description") or "PayPal refused the client credentials"),
                    extra={"provider_status": response.status_code},
                )
            lifetime = int(body.get("expires_in") or 0) - limits.paypal_token_refresh_margin_seconds
            self._token = (str(body["access_token"]), time.monotonic() + max(lifetime, 0))
            return self._token[0]

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {await self._access_token()}",
            "Prefer": "return=representation",
        }
        if request_id:
            headers["PayPal-Request-Id"] = request_id[:108]
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.request(
            method,
            path,
            retry=method == "GET" or request_id is not None,
            json=body,
            content=content,
            headers=headers,
        )
        if response.status_code == 204:
            return {}
        data = json_body(response)
        if response.status_code >= 400:
            details = data.get("details") or [{}]
            first = details[0] if isinstance(details, list) and details else {}
            if response.status_code == 401:
                self._token = None
            raise_for_client_error(
                response,
                message=str(first.get("description") or data.get("message") or ""),
                provider_code=str(first.get("issue") or data.get("name") or ""),
            )
        return data
