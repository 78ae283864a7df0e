"""The sandboxes mounted on the API's port: their test hooks answer only to a tenant's
test-mode credential, and what they post goes only to the tenant's own inbound address."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Mount, Route

from moneyrail.core.db import set_tenant
from moneyrail.identity.service import identity
from moneyrail.sandbox.guard import PAYER_PAGES, HookGuard
from tests.factories import TenantContext, make_tenant

FAKE = "zz_does_not_exist"


def guarded_hooks(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every test hook the API's /sandbox mount serves, payer pages aside."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/sandbox")
    assert isinstance(mount.app, HookGuard)
    found = []
    for provider_mount in mount.app.routes:
        if not isinstance(provider_mount, Mount):
            continue
        for route in provider_mount.routes:
            if not isinstance(route, Route) or not route.path.startswith("/_sandbox/"):
                continue
            first = route.path.split("/")[2]
            if first in PAYER_PAGES or route.path.endswith("/authenticate"):
                continue
            path = re.sub(r"\{[^}]+\}", FAKE, route.path)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found.append((method, f"/sandbox{provider_mount.path}{path}"))
    return found


def root(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def live_key(session: AsyncSession, tenant: TenantContext) -> dict[str, str]:
    await set_tenant(session, tenant.tenant_id)
    issued = await identity.issue_api_key(
        session, tenant_id=tenant.tenant_id, name="live", role=tenant.role, environment="live"
    )
    return {"X-API-Key": issued.key}


async def test_every_hook_refuses_callers_without_a_test_mode_credential(
    app: FastAPI, session: AsyncSession
) -> None:
    hooks = guarded_hooks(app)
    providers = {path.split("/")[2] for _, path in hooks}
    assert {"stripe", "razorpay", "paypal", "paystack", "twilio", "resend"} <= providers
    assert ("POST", "/sandbox/stripe/_sandbox/webhooks") in hooks
    tenant = await make_tenant(session)
    live = await live_key(session, tenant)
    async with root(app) as client:
        for method, path in hooks:
            bare = await client.request(method, path, json={})
            assert bare.status_code == 401, (method, path, bare.text)
            assert bare.headers["content-type"].startswith("application/problem+json")
            # A provider's own key is no moneyrail credential.
            provider_auth = {"Authorization": "Bearer sk_test_51Hsomething"}
            forged = await client.request(method, path, json={}, headers=provider_auth)
            assert forged.status_code == 401, (method, path, forged.text)
            refused = await client.request(method, path, json={}, headers=live)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["code"] == "test_mode_required"
            allowed = await client.request(method, path, json={}, headers=tenant.headers)
            # Past the guard: the sandbox itself answers, in the provider's shape (its own
            # errors for a made-up id or a missing provider key), never moneyrail's problem.
            problem = allowed.headers.get("content-type", "").startswith("application/problem")
            assert not problem, (method, path, allowed.text)


@pytest.mark.parametrize("provider", ["stripe", "razorpay", "paypal", "paystack", "twilio"])
async def test_common_hooks_work_with_the_tenants_test_key(
    app: FastAPI, session: AsyncSession, provider: str
) -> None:
    tenant = await make_tenant(session)
    async with root(app) as client:
        faults = await client.post(
            f"/sandbox/{provider}/_sandbox/faults", json={"unavailable": 0}, headers=tenant.headers
        )
        assert faults.status_code == 200, faults.text
        reset = await client.post(f"/sandbox/{provider}/_sandbox/reset", headers=tenant.headers)
        assert reset.status_code == 200 and reset.json() == {"reset": True}


async def _stripe_intent(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/sandbox/stripe/v1/payment_intents",
        data={"amount": "5000", "currency": "usd"},
        headers={"Authorization": "Bearer sk_test_51Hguard"},
    )
    assert created.status_code == 200, created.text
    pi_id: str = created.json()["id"]
    return pi_id


async def test_payment_outcome_hook_needs_the_test_key(app: FastAPI, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    async with root(app) as client:
        pi_id = await _stripe_intent(client)
        path = f"/sandbox/stripe/_sandbox/payment_intents/{pi_id}/succeed"
        assert (await client.post(path)).status_code == 401
        succeeded = await client.post(path, headers=tenant.headers)
        assert succeeded.status_code == 200, succeeded.text
        assert succeeded.json()["status"] in ("succeeded", "requires_capture")


async def test_webhooks_go_only_to_the_tenants_own_inbound_address(
    app: FastAPI, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    other = await make_tenant(session)
    async with root(app) as client:
        pi_id = await _stripe_intent(client)

        async def send(url: str) -> httpx.Response:
            spec: dict[str, Any] = {"object_id": pi_id, "secret": "whsec_x", "url": url}
            return await client.post(
                "/sandbox/stripe/_sandbox/webhooks", json=spec, headers=tenant.headers
            )

        own = f"http://testserver/api/v1/webhooks/providers/stripe?tenant={tenant.tenant_id}"
        for chosen in (
            "http://169.254.169.254/latest/meta-data",
            "http://attacker.example/api/v1/webhooks/providers/stripe",
            f"http://attacker.example/api/v1/webhooks/providers/stripe?tenant={tenant.tenant_id}",
            "http://testserver/api/v1/admin/anything",
            f"http://testserver/api/v1/webhooks/providers/stripe?tenant={other.tenant_id}",
            "http://testserver/api/v1/webhooks/providers/stripe",
            f"http://user:pw@testserver/api/v1/webhooks/providers/stripe?tenant={tenant.tenant_id}",
        ):
            refused = await send(chosen)
            assert refused.status_code == 403, (chosen, refused.text)
        # Without a URL the hook only signs; to the tenant's own address it delivers.
        signed = await send("")
        assert signed.status_code == 200 and signed.json()["delivered_status"] is None
        delivered = await send(own)
        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["url"] == own

        settings = await client.post(
            "/sandbox/paystack/_sandbox/settings",
            json={"webhook_url": "http://attacker.example/hook"},
            headers={**tenant.headers, "Authorization": "Bearer sk_test_5c0ffee"},
        )
        assert settings.status_code == 403, settings.text
        resend = await client.post(
            "/sandbox/resend/_sandbox/webhooks",
            json={"url": "http://attacker.example/hook", "secret": "whsec_abc"},
            headers=tenant.headers,
        )
        assert resend.status_code == 403, resend.text
