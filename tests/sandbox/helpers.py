"""Helpers for tests that drive a provider sandbox in process."""

from __future__ import annotations

from typing import Any

import httpx

from moneyrail.connectors.base import Credentials, Environment


def credentials(
    provider: str, *, webhook_secrets: tuple[str, ...] = (), **values: str
) -> Credentials:
    return Credentials(provider, Environment.test, values, webhook_secrets)


async def hook(
    transport: httpx.AsyncBaseTransport,
    provider: str,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Call one of a sandbox's own endpoints (test hooks or raw API calls)."""
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://sandbox/{provider}"
    ) as client:
        return await client.request(method, path, json=body, headers=headers)


async def faults(transport: httpx.AsyncBaseTransport, provider: str, **spec: Any) -> None:
    response = await hook(transport, provider, "/_sandbox/faults", spec)
    assert response.status_code == 200, response.text
