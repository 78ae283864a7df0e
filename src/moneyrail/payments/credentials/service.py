"""Each tenant's provider credentials, sealed with AES-256-GCM, and their environments.

A row holds one provider's secrets for one environment as a single ciphertext made with the
key ring's current key (`core.crypto`): a fresh random nonce per encryption, the key id in
the token, and associated data binding it to (tenant, provider, environment, row id), so a
ciphertext copied into another tenant's row, or another row, does not decrypt. Only the
last four characters of each secret are ever shown again.

Test mode never reaches a real provider: test credentials are used only against the
sandboxes. A tenant with no test credentials for a provider gets sandbox credentials derived
from the server's secret (its own sandbox account, unknown to other tenants), so payments
work before any setup.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.connectors.base import Credentials, Environment
from moneyrail.core.crypto import DecryptionError, KeyRing
from moneyrail.core.errors import NotFound, Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.payments.credentials.repository import SealedCredential, repository
from moneyrail.payments.models import ProviderAccount, ProviderCredential

log = structlog.get_logger(__name__)

HINT_LENGTH = 4
# Values a provider needs, by the names its connector reads. Secrets are every value.
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "stripe": ("secret_key",),
    "paypal": ("client_id", "client_secret"),
    "razorpay": ("key_id", "key_secret"),
    "paystack": ("secret_key",),
    "flutterwave": ("secret_key",),
    "chapa": ("secret_key",),
}


class ProviderNotConnected(NotFound):
    code = "provider_not_connected"
    title = "No credentials stored for this provider"


class MissingCredentialFields(Unprocessable):
    code = "missing_credential_fields"
    title = "Credentials lack required fields"


class LiveCredentialsRequired(Unprocessable):
    code = "live_credentials_required"
    title = "Store live credentials before switching to live"


class CredentialsUnreadable(Unprocessable):
    code = "credentials_unreadable"
    title = "Stored credentials cannot be decrypted; store them again"


# A stored credential row: an ORM row, or the plain one read for a payment.
CredentialRow = ProviderCredential | SealedCredential


@dataclass(frozen=True)
class ProviderSetup:
    environment: Environment
    rows: dict[Environment, CredentialRow]


@dataclass(frozen=True)
class StoredCredential:
    provider: str
    environment: Environment
    hints: Mapping[str, str]
    webhook_hints: tuple[str, ...]
    row: ProviderCredential


def associated_data(row: CredentialRow) -> str:
    return f"payments.credentials|{row.tenant_id}|{row.provider}|{row.environment}|{row.id}"


def _hint(value: str) -> str:
    return "…" + value[-HINT_LENGTH:] if len(value) > HINT_LENGTH else "…"


def _seal(
    ring: KeyRing, row: ProviderCredential, values: Mapping[str, str], hooks: Sequence[str]
) -> None:
    plaintext = json.dumps({"values": dict(values), "webhook_secrets": list(hooks)})
    row.ciphertext = ring.encrypt_text(plaintext, aad=associated_data(row))
    row.key_id = ring.current_id


def open_row(ring: KeyRing, row: CredentialRow) -> Credentials:
    """Decrypt one row. Raises DecryptionError when it was altered, moved or the key is gone."""
    data = json.loads(ring.decrypt_text(row.ciphertext, aad=associated_data(row)))
    return Credentials(
        provider=row.provider,
        environment=Environment(row.environment),
        values=dict(data.get("values") or {}),
        webhook_secrets=tuple(data.get("webhook_secrets") or ()),
    )


def sandbox_credentials(seed: bytes, *, tenant_id: str, provider: str) -> Credentials:
    """Per-tenant sandbox credentials in each provider's key format, derived from `seed`."""

    def part(label: str, length: int = 24) -> str:
        digest = hmac.new(seed, f"{tenant_id}|{provider}|{label}".encode(), hashlib.sha256)
        return digest.hexdigest()[:length]

    values: dict[str, str]
    hooks: tuple[str, ...]
    match provider:
        case "stripe":
            values = {"secret_key": f"sk_test_{part('key')}"}
            hooks = (f"whsec_{part('webhook', 32)}",)
        case "razorpay":
            values = {"key_id": f"rzp_test_{part('id', 14)}", "key_secret": part("secret")}
            hooks = (part("webhook", 32),)
        case "paypal":
            values = {"client_id": f"sandbox-{part('id')}", "client_secret": part("secret", 32)}
            hooks = (f"WH-{part('webhook', 17).upper()}",)  # PayPal's "secrets" are webhook ids
        case "flutterwave":
            values = {"secret_key": f"FLWSECK_TEST-{part('key', 32)}-X"}
            hooks = (part("webhook", 32),)
        case "chapa":
            values = {"secret_key": f"CHASECK_TEST-{part('key', 32)}"}
            hooks = (part("webhook", 32),)
        case _:
            values = {"secret_key": f"sk_test_{part('key')}"}
            hooks = ()
    return Credentials(
        provider=provider, environment=Environment.test, values=values, webhook_secrets=hooks
    )


class CredentialStore:
    async def save(
        self,
        session: AsyncSession,
        *,
        ring: KeyRing,
        subject: AuthSubject,
        provider: str,
        environment: Environment,
        values: Mapping[str, str],
        webhook_secrets: Sequence[str],
    ) -> StoredCredential:
        """Store (or replace) a provider's credentials for one environment.

        Raises:
            MissingCredentialFields: a value the provider's connector needs is absent.
        """
        tenant_id = subject.tenant_id
        missing = [name for name in REQUIRED_FIELDS.get(provider, ()) if not values.get(name)]
        if missing:
            raise MissingCredentialFields(
                f"{provider} needs {', '.join(missing)}", extra={"missing": missing}
            )
        row = await repository.credential(
            session, tenant_id=tenant_id, provider=provider, environment=environment.value
        )
        if row is None:
            row = ProviderCredential(
                tenant_id=tenant_id,
                id=new_id("pcred"),
                provider=provider,
                environment=environment.value,
            )
            session.add(row)
        _seal(ring, row, values, webhook_secrets)
        row.hints = {
            "fields": {name: _hint(value) for name, value in values.items()},
            "webhook_secrets": [_hint(secret) for secret in webhook_secrets],
        }
        await repository.ensure_account(session, tenant_id=tenant_id, provider=provider)
        await session.flush()
        await audit.record(
            session,
            subject=subject,
            action="services.credentials.saved",
            target_type="provider_credentials",
            target_id=row.id,
            after={
                "provider": provider,
                "environment": environment.value,
                "fields": sorted(values),
                "webhook_secrets": len(webhook_secrets),
            },
        )
        log.info("payments.credentials_saved", provider=provider, environment=environment.value)
        return self._stored(row)

    async def listing(
        self, session: AsyncSession, *, tenant_id: str
    ) -> tuple[dict[str, ProviderAccount], list[StoredCredential]]:
        accounts = {a.provider: a for a in await repository.accounts(session, tenant_id=tenant_id)}
        rows = await repository.credentials(session, tenant_id=tenant_id)
        return accounts, [self._stored(row) for row in rows]

    async def delete(self, session: AsyncSession, *, subject: AuthSubject, provider: str) -> None:
        """Forget every credential of a provider (its environment choice too).

        Raises:
            ProviderNotConnected: nothing is stored for it.
        """
        removed = await repository.delete_provider(
            session, tenant_id=subject.tenant_id, provider=provider
        )
        if not removed:
            raise ProviderNotConnected(f"no {provider} credentials are stored")
        await audit.record(
            session,
            subject=subject,
            action="services.credentials.deleted",
            target_type="provider_credentials",
            target_id=provider,
        )
        log.info("payments.credentials_deleted", provider=provider)

    async def set_environment(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject,
        provider: str,
        environment: Environment,
    ) -> ProviderAccount:
        """Switch a provider between test and live.

        Raises:
            LiveCredentialsRequired: live was asked for without live credentials.
        """
        tenant_id = subject.tenant_id
        if environment is Environment.live:
            row = await repository.credential(
                session, tenant_id=tenant_id, provider=provider, environment="live"
            )
            if row is None:
                raise LiveCredentialsRequired(f"store live {provider} credentials first")
        account = await repository.ensure_account(session, tenant_id=tenant_id, provider=provider)
        before = account.environment
        account.environment = environment.value
        await session.flush()
        await audit.record(
            session,
            subject=subject,
            action="services.environment.changed",
            target_type="provider_account",
            target_id=provider,
            before={"environment": before},
            after={"environment": environment.value},
        )
        return account

    async def setup(self, session: AsyncSession, *, tenant_id: str) -> dict[str, ProviderSetup]:
        """Every provider the tenant configured: its environment and stored credential rows."""
        found: dict[str, ProviderSetup] = {}
        for provider, environment, row in await repository.provider_setup(
            session, tenant_id=tenant_id
        ):
            entry = found.setdefault(
                provider, ProviderSetup(Environment(environment or Environment.test), {})
            )
            if row is not None:
                entry.rows[Environment(row.environment)] = row
        return found

    def credentials_for(
        self,
        *,
        ring: KeyRing,
        sandbox_seed: bytes,
        tenant_id: str,
        provider: str,
        environment: Environment,
        rows: Mapping[Environment, CredentialRow],
    ) -> Credentials | None:
        """The credentials to use in `environment` from loaded rows: the stored ones, sandbox
        ones for test mode without any, None for live mode without any.

        Raises:
            CredentialsUnreadable: the stored row does not decrypt (altered or moved).
        """
        row = rows.get(environment)
        if row is not None:
            try:
                return open_row(ring, row)
            except DecryptionError as exc:
                log.error("payments.credentials_unreadable", provider=provider, row_id=row.id)
                raise CredentialsUnreadable(f"the stored {provider} credentials") from exc
        if environment is Environment.test:
            return sandbox_credentials(sandbox_seed, tenant_id=tenant_id, provider=provider)
        return None

    async def resolve(
        self,
        session: AsyncSession,
        *,
        ring: KeyRing,
        sandbox_seed: bytes,
        tenant_id: str,
        provider: str,
        environment: Environment,
    ) -> Credentials | None:
        """The credentials to call `provider` with in `environment`; None when live has none.

        Raises:
            CredentialsUnreadable: the stored row does not decrypt (altered or moved).
        """
        row = await repository.credential(
            session, tenant_id=tenant_id, provider=provider, environment=environment.value
        )
        return self.credentials_for(
            ring=ring,
            sandbox_seed=sandbox_seed,
            tenant_id=tenant_id,
            provider=provider,
            environment=environment,
            rows={environment: row} if row is not None else {},
        )

    async def webhook_secrets(
        self,
        session: AsyncSession,
        *,
        ring: KeyRing,
        sandbox_seed: bytes,
        tenant_id: str,
        provider: str,
    ) -> tuple[Credentials, ...]:
        """Every credential set whose webhook secrets may sign this tenant's events."""
        found: list[Credentials] = []
        has_test = False
        for row in await repository.credentials(session, tenant_id=tenant_id, provider=provider):
            try:
                found.append(open_row(ring, row))
            except DecryptionError:
                log.error("payments.credentials_unreadable", provider=provider, row_id=row.id)
                continue
            has_test = has_test or row.environment == Environment.test.value
        if not has_test:
            found.append(sandbox_credentials(sandbox_seed, tenant_id=tenant_id, provider=provider))
        return tuple(found)

    async def rotate(self, session: AsyncSession, *, ring: KeyRing) -> tuple[int, int]:
        """Re-encrypt every tenant's rows with the ring's current key (caller bypasses RLS).

        Returns (rows re-encrypted, rows already on the current key). Raises DecryptionError
        when a row cannot be opened with any key of the ring: nothing is changed then.
        """
        rotated = current = 0
        after: tuple[str, str] | None = None
        while True:
            batch = await repository.credentials_batch(session, after=after)
            if not batch:
                break
            for row in batch:
                if (
                    row.key_id == ring.current_id
                    and KeyRing.key_id_of(row.ciphertext) == ring.current_id
                ):
                    current += 1
                    continue
                credentials = open_row(ring, row)
                _seal(ring, row, credentials.values, credentials.webhook_secrets)
                rotated += 1
            await session.flush()
            after = (batch[-1].tenant_id, batch[-1].id)
        return rotated, current

    @staticmethod
    def _stored(row: ProviderCredential) -> StoredCredential:
        hints = row.hints or {}
        return StoredCredential(
            provider=row.provider,
            environment=Environment(row.environment),
            hints=dict(hints.get("fields") or {}),
            webhook_hints=tuple(hints.get("webhook_secrets") or ()),
            row=row,
        )


credentials = CredentialStore()
