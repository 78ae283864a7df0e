"""Reaching a tenant's provider: which environment, which credentials, where to send.

`ProviderRuntime` is what the process knows (the key ring, the seed of sandbox credentials,
and — only for test mode — an in-process transport to the sandboxes). Test mode always goes
to the sandbox (`registry.sandbox_base_url`), whatever the stored credentials say; live mode
goes to the provider with the tenant's live credentials and never uses the in-process
transport.

Every provider operation runs under one whole-call deadline (`call`), connector retries
included, so a request never holds its transaction open longer than that bound.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.connectors import registry
from moneyrail.connectors.base import (
    Credentials,
    Environment,
    PaymentConnector,
    ProviderTimeout,
)
from moneyrail.core import limits
from moneyrail.core.crypto import KeyRing, key_ring_from
from moneyrail.core.errors import Unprocessable
from moneyrail.core.settings import Settings
from moneyrail.payments.credentials.service import credentials as credential_store

T = TypeVar("T")


# What a call to a provider can answer besides success: no such object (404), a state that
# refuses it (409), a request it refuses (422), a bad or no answer (502, 504), unavailable
# (503). Operations that call a provider document these.
PROVIDER_ERRORS = (404, 409, 422, 502, 503, 504)


class ProviderNotConfigured(Unprocessable):
    code = "provider_not_configured"
    title = "The provider has no live credentials"


class ConnectorPool:
    """Open connectors of this process, one per provider, credentials and destination, so a
    provider call does not build an HTTP client (and its connection pool) every time.

    Connectors are safe to share between concurrent requests (their HTTP client is). The
    least recently used one is dropped beyond `limits.provider_connectors_max`, without
    closing it under a request that may still use it; `aclose` closes them all (shutdown).
    """

    def __init__(self) -> None:
        self._open: OrderedDict[tuple[object, ...], PaymentConnector] = OrderedDict()

    def get(self, runtime: ProviderRuntime, provider: str, creds: Credentials) -> PaymentConnector:
        secrets = hashlib.sha256(
            "\0".join(f"{k}={v}" for k, v in sorted(creds.values.items())).encode()
        ).digest()
        key = (provider, creds.environment, secrets, creds.webhook_secrets)
        connector = self._open.get(key)
        if connector is None:
            connector = self._open[key] = connector_for(runtime, provider, creds)
            while len(self._open) > limits.provider_connectors_max:
                self._open.popitem(last=False)
        else:
            self._open.move_to_end(key)
        return connector

    async def aclose(self) -> None:
        connectors = list(self._open.values())
        self._open.clear()
        for connector in connectors:
            await connector.aclose()


@dataclass(frozen=True)
class ProviderRuntime:
    ring: KeyRing
    sandbox_seed: bytes
    # An in-process route to the sandboxes (tests, development); used for test mode only.
    sandbox_transport: httpx.AsyncBaseTransport | None = None
    deadline_seconds: float = limits.payment_provider_call_deadline_seconds
    public_base_url: str = "http://127.0.0.1:8000"
    connectors: ConnectorPool = field(default_factory=ConnectorPool, compare=False, repr=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sandbox_transport: httpx.AsyncBaseTransport | None = None,
        deadline_seconds: float | None = None,
    ) -> ProviderRuntime:
        return cls(
            ring=key_ring_from(settings),
            sandbox_seed=hashlib.sha256(
                b"moneyrail-sandbox-credentials:" + settings.secret_key.encode()
            ).digest(),
            sandbox_transport=sandbox_transport,
            deadline_seconds=deadline_seconds or limits.payment_provider_call_deadline_seconds,
            public_base_url=settings.public_base_url.rstrip("/"),
        )


def effective_environment(caller: str, configured: Environment) -> Environment:
    """Test when either the caller's key or the tenant's provider setting is test."""
    if caller == Environment.test.value or configured is Environment.test:
        return Environment.test
    return Environment.live


async def call(runtime: ProviderRuntime, operation: Awaitable[T]) -> T:
    """Await one provider operation within the runtime's deadline.

    Raises:
        ProviderTimeout: no answer in time; the provider may still have acted.
    """
    try:
        async with asyncio.timeout(runtime.deadline_seconds):
            return await operation
    except TimeoutError as exc:
        raise ProviderTimeout("no answer within the deadline; the outcome is unknown") from exc


def connector_for(runtime: ProviderRuntime, provider: str, creds: Credentials) -> PaymentConnector:
    """A new connector for explicit credentials (the caller closes it): test credentials
    only ever reach the sandbox."""
    kwargs: dict[str, Any] = {}
    if creds.environment is Environment.test:
        kwargs["base_url"] = registry.sandbox_base_url(provider)
        kwargs["transport"] = runtime.sandbox_transport
    return registry.payment_connector(provider, creds, **kwargs)


@asynccontextmanager
async def open_connector(
    session: AsyncSession,
    *,
    runtime: ProviderRuntime,
    tenant_id: str,
    provider: str,
    environment: Environment,
    credentials: Credentials | None = None,
) -> AsyncIterator[PaymentConnector]:
    """The process's open connector for the tenant's `provider` in `environment` (with
    `credentials` when already loaded).

    Raises:
        ProviderNotConfigured: live mode without live credentials.
        CredentialsUnreadable: stored credentials do not decrypt.
    """
    creds = credentials or await credential_store.resolve(
        session,
        ring=runtime.ring,
        sandbox_seed=runtime.sandbox_seed,
        tenant_id=tenant_id,
        provider=provider,
        environment=environment,
    )
    if creds is None:
        raise ProviderNotConfigured(f"store live {provider} credentials or use test mode")
    yield runtime.connectors.get(runtime, provider, creds)


@dataclass(frozen=True)
class Route:
    """A provider a payment may go to now: the environment and the credentials to use."""

    environment: Environment
    credentials: Credentials


async def enabled_providers(
    session: AsyncSession,
    *,
    runtime: ProviderRuntime,
    tenant_id: str,
    caller_environment: str,
    candidates: Sequence[str],
) -> dict[str, Route]:
    """The candidates usable now, in order, each with its environment and credentials (a
    live provider without live credentials is left out). One query for all of them.

    Raises:
        CredentialsUnreadable: a candidate's stored credentials do not decrypt.
    """
    setup = await credential_store.setup(session, tenant_id=tenant_id)
    usable: dict[str, Route] = {}
    for provider in candidates:
        configured = setup.get(provider)
        env = effective_environment(
            caller_environment, configured.environment if configured else Environment.test
        )
        creds = credential_store.credentials_for(
            ring=runtime.ring,
            sandbox_seed=runtime.sandbox_seed,
            tenant_id=tenant_id,
            provider=provider,
            environment=env,
            rows=configured.rows if configured else {},
        )
        if creds is not None:
            usable[provider] = Route(env, creds)
    return usable


def provider_key(tenant_id: str, client_key: str, provider: str, purpose: str = "create") -> str:
    """The idempotency key/reference we send a provider for one client request.

    Derived from the client's Idempotency-Key, so a request retried after our transaction
    rolled back carries the same key and the provider answers with what it already did
    instead of acting twice; the tenant and provider make it unique where accounts are shared.
    """
    digest = hashlib.sha256(f"{tenant_id}\0{client_key}\0{provider}\0{purpose}".encode())
    return "mr-" + digest.hexdigest()[:32]
