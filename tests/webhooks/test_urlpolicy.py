from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route

from moneyrail.core.db import Database, bypass_tenant_scope
from moneyrail.core.settings import Environment, Settings
from moneyrail.webhooks.urlpolicy import Target, WebhookUrlRefused, check, target
from moneyrail.worker.runner import Worker
from tests.factories import make_live_tenant
from tests.webhooks.conftest import emit_committed, fast_settings
from tests.webhooks.receiver import Receiver, running_receiver, serving


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_private_targets_refused_after_resolution(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        await check(url, require_https=False, allow_private=False)
    await check(url, require_https=False, allow_private=True)


async def test_https_required_in_production_and_no_credentials() -> None:
    with pytest.raises(WebhookUrlRefused):
        await check("http://93.184.215.14/hook", require_https=True, allow_private=False)
    await check("https://93.184.215.14/hook", require_https=True, allow_private=False)
    with pytest.raises(WebhookUrlRefused):
        await check("https://user:pw@93.184.215.14/hook", require_https=True, allow_private=False)


def test_private_targets_only_when_switched_on() -> None:
    for environment in Environment:
        assert not Settings(environment=environment).webhook_private_targets_allowed
    assert Settings(
        environment=Environment.development, webhook_allow_private_targets=True
    ).webhook_private_targets_allowed


async def test_redirects_are_not_followed(
    settings: Settings, engine: AsyncEngine, live_client: httpx.AsyncClient
) -> None:
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver()) as receiver:

        async def redirect(_: object) -> RedirectResponse:
            return RedirectResponse(receiver.url, status_code=307)

        redirector = Starlette(routes=[Route("/hook", redirect, methods=["POST"])])
        async with serving(redirector) as redirect_base:
            created = await live_client.post(
                "/webhooks", json={"url": f"{redirect_base}/hook"}, headers=tenant.headers
            )
            assert created.status_code == 201
            strict = Worker(
                fast_settings(settings, webhook_retry_schedule_seconds=[]),
                db=Database(engine),
                worker_id="strict",
            )
            event_id = await emit_committed(
                engine, tenant_id=tenant.tenant_id, type="payment.failed", data={}
            )

            async def done() -> bool:
                async with AsyncSession(engine) as session, session.begin():
                    await bypass_tenant_scope(session)
                    status = await session.scalar(
                        text("SELECT status FROM webhook_deliveries WHERE event_id = :e"),
                        {"e": event_id},
                    )
                return status == "failed"

            try:
                await strict.drain(timeout_seconds=15, until=done)
            finally:
                await strict.aclose()
    assert receiver.received == []  # the redirect was not followed
    logs = await live_client.get("/webhooks/logs", headers=tenant.headers)
    [entry] = logs.json()["data"]
    assert entry["last_status_code"] == 307


async def test_delivery_time_check_refuses_private_targets(
    settings: Settings, engine: AsyncEngine, live_client: httpx.AsyncClient
) -> None:
    """Re-checked before every attempt (DNS may change after the endpoint was saved)."""
    tenant = await make_live_tenant(engine)
    async with running_receiver(Receiver()) as receiver:
        created = await live_client.post(
            "/webhooks", json={"url": receiver.url}, headers=tenant.headers
        )
        assert created.status_code == 201
        strict = Worker(
            fast_settings(
                settings, webhook_retry_schedule_seconds=[], webhook_allow_private_targets=False
            ),
            db=Database(engine),
            worker_id="strict",
        )
        await emit_committed(engine, tenant_id=tenant.tenant_id, type="payment.failed", data={})

        async def failed() -> bool:
            logs = await live_client.get(
                "/webhooks/logs", params={"status": "failed"}, headers=tenant.headers
            )
            return len(logs.json()["data"]) == 1

        try:
            await strict.drain(timeout_seconds=15, until=failed)
        finally:
            await strict.aclose()
    assert receiver.received == []
    logs = await live_client.get("/webhooks/logs", headers=tenant.headers)
    assert logs.json()["data"][0]["last_error"].startswith("refused")


@pytest.mark.parametrize(
    "url",
    [
        "http://[invalid/x",
        "http://exa mple.com/",
        "http://host:99999/",
        "http:///nohost",
        "javascript:x",
    ],
)
async def test_malformed_urls_are_refused_not_errors(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        await check(url, require_https=False, allow_private=False)


async def test_an_attempt_connects_to_the_address_that_was_checked() -> None:
    """The URL is rewritten to the checked IP; the host travels in Host and as TLS SNI."""
    pinned = await target("http://localhost:8080/hook?x=1", require_https=False, allow_private=True)
    assert pinned.address in ("127.0.0.1", "::1") and pinned.internal
    assert pinned.pinned_url in ("http://127.0.0.1:8080/hook?x=1", "http://[::1]:8080/hook?x=1")
    assert pinned.host_header == "localhost:8080"
    with pytest.raises(WebhookUrlRefused):
        await target("http://localhost:8080/hook", require_https=False, allow_private=False)
    six = Target(
        url="https://hooks.example.com/in",
        host="hooks.example.com",
        port=443,
        address="2001:db8::1",
        internal=False,
    )
    assert six.pinned_url == "https://[2001:db8::1]/in" and six.host_header == "hooks.example.com"
