"""Provider credentials ("services"): list, store, disconnect, switch test/live.

Secrets go in and never come out: responses show each one's last four characters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute, idempotent
from moneyrail.payments.auth import ServicesRead, ServicesWrite
from moneyrail.payments.credentials import views
from moneyrail.payments.credentials.schemas import (
    CredentialsIn,
    EnvironmentIn,
    ServiceOut,
    ServicesOut,
)
from moneyrail.payments.credentials.service import credentials as credential_store
from moneyrail.payments.deps import Runtime
from moneyrail.payments.routing.rules import PAYMENT_PROVIDERS
from moneyrail.payments.schemas import ProviderName

Provider = Annotated[ProviderName, Path(description="A payment provider")]

router = APIRouter(tags=["connectors"], route_class=IdempotentRoute)


def webhook_url(runtime_base: str, provider: str, tenant_id: str) -> str:
    return f"{runtime_base}/api/v1/webhooks/providers/{provider}?tenant={tenant_id}"


async def _service(
    session: SessionDep, runtime: Runtime, tenant_id: str, provider: str
) -> ServiceOut:
    accounts, stored = await credential_store.listing(session, tenant_id=tenant_id)
    return views.service_out(
        provider,
        accounts.get(provider),
        [c for c in stored if c.provider == provider],
        webhook_url=webhook_url(runtime.public_base_url, provider, tenant_id),
    )


@router.get("/services", response_model=ServicesOut, summary="Payment providers and their setup")
async def list_services(
    subject: ServicesRead, session: SessionDep, runtime: Runtime
) -> ServicesOut:
    """Every payment provider: environment, stored credentials (last four characters only),
    the webhook URL to give the provider. Test mode works without credentials (sandbox)."""
    accounts, stored = await credential_store.listing(session, tenant_id=subject.tenant_id)
    return ServicesOut(
        data=[
            views.service_out(
                provider,
                accounts.get(provider),
                [c for c in stored if c.provider == provider],
                webhook_url=webhook_url(runtime.public_base_url, provider, subject.tenant_id),
            )
            for provider in PAYMENT_PROVIDERS
        ]
    )


@router.post(
    "/services/{provider}/credentials",
    response_model=ServiceOut,
    summary="Store a provider's credentials",
    responses=problem_responses(422),
)
@idempotent()
async def save_credentials(
    provider: Provider,
    body: CredentialsIn,
    subject: ServicesWrite,
    session: SessionDep,
    runtime: Runtime,
) -> ServiceOut:
    """Stores a provider's credentials for the test or live environment, encrypted with
    AES-256-GCM; the response shows only the last four characters of each. Fields depend on the
    provider."""
    await credential_store.save(
        session,
        ring=runtime.ring,
        subject=subject,
        provider=provider,
        environment=body.environment,
        values=body.credentials,
        webhook_secrets=body.webhook_secrets,
    )
    return await _service(session, runtime, subject.tenant_id, provider)


@router.delete(
    "/services/{provider}",
    status_code=204,
    summary="Disconnect a provider (forget its credentials)",
    responses=problem_responses(404),
)
async def delete_service(
    provider: Provider, subject: ServicesWrite, session: SessionDep
) -> Response:
    """Disconnects a provider: its stored credentials for this tenant are deleted; payments
    already made are kept."""
    await credential_store.delete(session, subject=subject, provider=provider)
    return Response(status_code=204)


@router.put(
    "/services/{provider}/environment",
    response_model=ServiceOut,
    summary="Switch a provider between test and live",
    responses=problem_responses(422),
)
async def set_environment(
    provider: Provider,
    body: EnvironmentIn,
    subject: ServicesWrite,
    session: SessionDep,
    runtime: Runtime,
) -> ServiceOut:
    """Switches the provider between test (sandbox) and live for this tenant. Live needs stored
    live credentials (422 otherwise)."""
    await credential_store.set_environment(
        session, subject=subject, provider=provider, environment=body.environment
    )
    return await _service(session, runtime, subject.tenant_id, provider)
