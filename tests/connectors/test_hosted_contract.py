"""What every hosted-checkout connector (Paystack, Flutterwave, Chapa) does the same way,
against its sandbox in process: declines, unknown references, refused keys, outages and
timeouts, and a retried create."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moneyrail.connectors.base import (
    PaymentStatus,
    ProviderDeclined,
    ProviderNotSupported,
    ProviderTimeout,
    ProviderUnavailable,
)
from moneyrail.connectors.http import ProviderCredentialsRejected, ProviderObjectNotFound
from tests.connectors.hosted import HOSTED, Hosted, checkout
from tests.sandbox.helpers import faults


@pytest.fixture(params=HOSTED, ids=lambda p: p.provider)
def provider(request: pytest.FixtureRequest) -> Hosted:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def conn(provider: Hosted, transport: httpx.ASGITransport) -> AsyncIterator[Any]:
    connector = provider.connector(transport)
    yield connector
    await connector.aclose()


async def test_declined_checkout_fails(
    provider: Hosted, conn: Any, transport: httpx.ASGITransport
) -> None:
    payment = await conn.create_payment(provider.request())
    assert payment.next_action_url
    with pytest.raises(ProviderNotSupported):
        await conn.capture(payment.provider_payment_id, amount=None, idempotency_key="c1")
    await checkout(transport, payment.next_action_url, "failed")
    assert (await conn.get_payment("order-1001")).status is PaymentStatus.failed


async def test_retried_create_returns_the_same_transaction(provider: Hosted, conn: Any) -> None:
    first = await conn.create_payment(provider.request())
    again = await conn.create_payment(provider.request())
    assert again.provider_payment_id == first.provider_payment_id
    assert again.status is PaymentStatus.requires_action


async def test_unknown_reference_bad_key_and_bad_request(
    provider: Hosted, transport: httpx.ASGITransport
) -> None:
    good, bad = provider.connector(transport), provider.connector(transport, key=provider.bad_key)
    with pytest.raises(ProviderObjectNotFound):
        await good.get_payment("nope")
    with pytest.raises(ProviderCredentialsRejected):
        await bad.create_payment(provider.request())
    with pytest.raises(ProviderDeclined):
        await good.create_payment(provider.declined)
    await good.aclose()
    await bad.aclose()


async def test_unavailable_is_retried_then_reported(
    provider: Hosted, conn: Any, transport: httpx.ASGITransport
) -> None:
    await faults(transport, provider.provider, unavailable=1)
    assert (await conn.create_payment(provider.request())).status is PaymentStatus.requires_action
    await faults(transport, provider.provider, unavailable=5)
    with pytest.raises(ProviderUnavailable):
        await conn.create_payment(provider.request("order-2"))


async def test_slow_answer_times_out(provider: Hosted, transport: httpx.ASGITransport) -> None:
    slow = provider.connector(transport, timeout_seconds=0.1)
    await faults(transport, provider.provider, slow=1, delay_seconds=3)
    with pytest.raises(ProviderTimeout):
        await slow.create_payment(provider.request())
    await slow.aclose()
