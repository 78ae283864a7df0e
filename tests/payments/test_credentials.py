"""Provider credentials: sealed at rest, bound to their row, rotated by `moneyrail keys rotate`
(acceptance check 5), and the services API around them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner

from moneyrail.auth.roles import Role
from moneyrail.core.crypto import DecryptionError, parse_key_ring
from moneyrail.core.db import bypass_tenant_scope, set_tenant
from moneyrail.core.settings import Settings, get_settings
from moneyrail.payments.credentials.service import open_row
from moneyrail.payments.models import ProviderCredential
from moneyrail.payments.providers import ProviderRuntime
from tests.conftest import TEST_SECRET_KEY, pg_dump, problem
from tests.factories import add_api_key, make_live_tenant, make_tenant


def _stripe_secret() -> str:
    return f"sk_live_{secrets.token_hex(16)}"


async def test_secrets_are_never_shown_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    secret, hook = _stripe_secret(), f"whsec_{secrets.token_hex(12)}"
    saved = await client.post(
        "/services/stripe/credentials",
        json={
            "environment": "live",
            "credentials": {"secret_key": secret},
            "webhook_secrets": [hook],
        },
        headers=tenant.headers,
    )
    assert saved.status_code == 200, saved.text
    listing = await client.get("/services", headers=tenant.headers)
    for response in (saved, listing):
        assert secret not in response.text and secret[:-4] not in response.text
        assert hook not in response.text
    stripe = next(s for s in listing.json()["data"] if s["provider"] == "stripe")
    assert stripe["connected"] and stripe["environment"] == "test"
    assert stripe["credentials"][0]["fields"] == {"secret_key": "…" + secret[-4:]}
    assert stripe["credentials"][0]["webhook_secrets"] == ["…" + hook[-4:]]
    assert stripe["webhook_url"].endswith(
        f"/api/v1/webhooks/providers/stripe?tenant={tenant.tenant_id}"
    )
    assert {s["provider"] for s in listing.json()["data"]} == {
        "stripe",
        "paypal",
        "razorpay",
        "paystack",
        "flutterwave",
        "chapa",
    }


async def test_environment_switch_and_disconnect(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    problem(
        await client.put(
            "/services/razorpay/environment", json={"environment": "live"}, headers=tenant.headers
        ),
        422,
        "live_credentials_required",
    )
    problem(
        await client.post(
            "/services/razorpay/credentials",
            json={"environment": "live", "credentials": {"key_id": "rzp_live_x"}},
            headers=tenant.headers,
        ),
        422,
        "missing_credential_fields",
    )
    saved = await client.post(
        "/services/razorpay/credentials",
        json={
            "environment": "live",
            "credentials": {"key_id": "rzp_live_abc", "key_secret": "s3cr3tvalue"},
        },
        headers=tenant.headers,
    )
    assert saved.status_code == 200
    switched = await client.put(
        "/services/razorpay/environment", json={"environment": "live"}, headers=tenant.headers
    )
    assert switched.json()["environment"] == "live"
    # A test-mode key still goes to the sandbox: the payment is made there.
    created = await client.post(
        "/payments",
        json={"amount": {"amount": 500, "currency": "INR"}, "provider": "razorpay"},
        headers=tenant.with_idempotency(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["environment"] == "test"
    assert (await client.delete("/services/razorpay", headers=tenant.headers)).status_code == 204
    problem(
        await client.delete("/services/razorpay", headers=tenant.headers),
        404,
        "provider_not_connected",
    )
    problem(await client.delete("/services/venmo", headers=tenant.headers), 422)


async def test_only_administrators_manage_credentials(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    operator = await add_api_key(session, tenant, role=Role.operator)
    problem(await client.get("/services", headers=operator.headers), 403)
    problem(
        await client.post(
            "/services/stripe/credentials",
            json={"credentials": {"secret_key": "sk_test_x"}},
            headers=operator.headers,
        ),
        403,
    )


async def test_a_live_key_on_a_provider_in_test_mode_stays_in_the_sandbox(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from moneyrail.identity.service import identity

    tenant = await make_tenant(session)
    issued = await identity.issue_api_key(
        session, tenant_id=tenant.tenant_id, name="live", role=Role.owner, environment="live"
    )
    created = await client.post(
        "/payments",
        json={"amount": {"amount": 500, "currency": "USD"}, "provider": "paypal"},
        headers={"X-API-Key": issued.key, "Idempotency-Key": secrets.token_hex(8)},
    )
    assert created.status_code == 201, created.text
    assert created.json()["environment"] == "test"
    assert "/sandbox/paypal/" in created.json()["next_action"]["url"]


async def test_a_row_copied_to_another_tenant_does_not_decrypt(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    owner = await make_tenant(session)
    thief = await make_tenant(session)
    await client.post(
        "/services/stripe/credentials",
        json={"credentials": {"secret_key": "sk_test_" + secrets.token_hex(8)}},
        headers=owner.headers,
    )
    await bypass_tenant_scope(system_session)
    row = await system_session.scalar(
        select(ProviderCredential).where(ProviderCredential.tenant_id == owner.tenant_id)
    )
    assert row is not None
    ring = ProviderRuntime.from_settings(app.state.settings).ring
    assert open_row(ring, row).values["secret_key"].startswith("sk_test_")
    copy = ProviderCredential(
        tenant_id=thief.tenant_id,
        id=row.id,
        provider=row.provider,
        environment=row.environment,
        ciphertext=row.ciphertext,
        key_id=row.key_id,
        hints=row.hints,
    )
    system_session.add(copy)
    await system_session.flush()
    with pytest.raises(DecryptionError):
        open_row(ring, copy)
    # The thief's payments do not get the owner's credentials: the row is refused.
    refused = await client.post(
        "/payments",
        json={"amount": {"amount": 100, "currency": "USD"}, "provider": "stripe"},
        headers=thief.with_idempotency(),
    )
    problem(refused, 422, "credentials_unreadable")


def _key_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_dump_holds_no_secret_and_rotation_re_encrypts_every_row(
    live_client: httpx.AsyncClient,
    engine: AsyncEngine,
    owner_engine: AsyncEngine,
    settings: Settings,
    database_url: str,
) -> None:
    tenants = [await make_live_tenant(engine) for _ in range(2)]
    plain = []
    for tenant in tenants:
        for provider, values in (
            ("stripe", {"secret_key": _stripe_secret()}),
            (
                "razorpay",
                {"key_id": "rzp_live_" + secrets.token_hex(7), "key_secret": secrets.token_hex(16)},
            ),
        ):
            saved = await live_client.post(
                f"/services/{provider}/credentials",
                json={
                    "environment": "live",
                    "credentials": values,
                    "webhook_secrets": [secrets.token_hex(12)],
                },
                headers=tenant.headers,
            )
            assert saved.status_code == 200, saved.text
            plain.extend(values.values())

    dump = await asyncio.to_thread(pg_dump, database_url, "--table=payment_provider_credentials")
    assert all(tenant.tenant_id in dump for tenant in tenants)
    for secret in plain:
        assert secret not in dump and secret[-8:] not in dump

    # `moneyrail keys rotate` with a new first key re-encrypts every row with it.
    old = _key_b64(hashlib.sha256(b"moneyrail-encryption:" + TEST_SECRET_KEY.encode()).digest())
    new = _key_b64(os.urandom(32))
    await asyncio.to_thread(_rotate_cli, database_url, f"new:{new},k0:{old}")
    only_new = parse_key_ring(f"new:{new}")
    async with AsyncSession(owner_engine) as session:
        rows = (await session.scalars(select(ProviderCredential))).all()
        assert rows and all(row.key_id == "new" for row in rows)
        opened = [open_row(only_new, row) for row in rows]
    assert {v for c in opened for v in c.values.values()} >= set(plain)
    # Back to the key the rest of the suite's app uses.
    await asyncio.to_thread(_rotate_cli, database_url, f"k0:{old},new:{new}")
    async with AsyncSession(owner_engine) as session:
        assert (
            await session.execute(text("SELECT DISTINCT key_id FROM payment_provider_credentials"))
        ).scalars().all() == ["k0"]


def _rotate_cli(database_url: str, keys: str) -> None:
    from moneyrail.cli import app as cli

    env = {"DATABASE_URL": database_url, "ENCRYPTION_KEYS": keys, "SECRET_KEY": TEST_SECRET_KEY}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["keys", "rotate"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "re-encrypted" in result.output


async def test_sandbox_credentials_differ_per_tenant(app: FastAPI, session: AsyncSession) -> None:
    from tests.payments.helpers import sandbox_creds

    a, b = await make_tenant(session), await make_tenant(session)
    assert sandbox_creds(app, a, "stripe").values != sandbox_creds(app, b, "stripe").values
    assert sandbox_creds(app, a, "stripe").values["secret_key"].startswith("sk_test_")
    await set_tenant(session, a.tenant_id)


async def test_live_credentials_reach_the_provider_and_never_the_sandbox(app: FastAPI) -> None:
    from moneyrail.connectors.base import Credentials, Environment
    from moneyrail.payments.providers import connector_for

    runtime = ProviderRuntime.from_settings(
        app.state.settings, sandbox_transport=app.state.provider_transport
    )
    live = connector_for(
        runtime, "stripe", Credentials("stripe", Environment.live, {"secret_key": "sk_live_x"})
    )
    test = connector_for(
        runtime, "stripe", Credentials("stripe", Environment.test, {"secret_key": "sk_test_x"})
    )
    try:
        assert str(live.http.client.base_url).startswith("https://api.stripe.com")  # type: ignore[attr-defined]
        assert live.http.client._transport is not app.state.provider_transport  # type: ignore[attr-defined]
        assert "/sandbox/stripe" in str(test.http.client.base_url)  # type: ignore[attr-defined]
        assert test.http.client._transport is app.state.provider_transport  # type: ignore[attr-defined]
    finally:
        await live.aclose()
        await test.aclose()
