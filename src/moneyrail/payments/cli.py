"""`moneyrail keys rotate` (re-encrypt stored provider credentials with the current key) and
`moneyrail payments poll` (resolve payments waiting on a provider, once)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from moneyrail.core import limits

keys_app = typer.Typer(help="Encryption keys of stored secrets.", no_args_is_help=True)
payments_app = typer.Typer(help="Payments maintenance.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored provider credential with the first key of ENCRYPTION_KEYS.

    Keep the previous key in ENCRYPTION_KEYS (after the new one) until this has run; then
    it can be removed.
    """
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.settings import get_settings

    url = resolve_database_url(get_settings())
    rotated, current = asyncio.run(_rotate(url))
    typer.echo(f"re-encrypted {rotated} credential rows; {current} were already on the current key")


async def _rotate(url: str) -> tuple[int, int]:
    from sqlalchemy.ext.asyncio import AsyncSession

    from moneyrail.core.crypto import key_ring_from
    from moneyrail.core.db import bypass_tenant_scope, create_engine
    from moneyrail.core.settings import get_settings
    from moneyrail.payments.credentials.service import credentials

    settings = get_settings()
    engine = create_engine(settings, url=url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await bypass_tenant_scope(session)
            return await credentials.rotate(session, ring=key_ring_from(settings))
    finally:
        await engine.dispose()


@payments_app.command("poll")
def poll(
    limit: Annotated[
        int,
        typer.Option(
            min=1, max=limits.payment_poll_batch_size_max, help="Payments to check at most."
        ),
    ] = limits.payment_poll_batch_size_max,
    min_age: Annotated[
        float, typer.Option(min=0, help="Only payments waiting at least this many seconds.")
    ] = limits.payment_poll_min_age_seconds,
) -> None:
    """Resolve payment creates left in flight (looked up at their provider after
    `payment_in_flight_min_age_seconds`), then ask the providers about payments still
    `processing`, and apply their answers."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.settings import get_settings

    url = resolve_database_url(get_settings())
    checked, resolved, errors = asyncio.run(_poll(url, limit, min_age))
    typer.echo(f"checked {checked} payments: {resolved} resolved, {errors} errors")


async def _poll(url: str, limit: int, min_age: float) -> tuple[int, int, int]:
    from moneyrail.core.db import create_engine
    from moneyrail.core.settings import get_settings
    from moneyrail.payments.providers import ProviderRuntime
    from moneyrail.payments.tasks import poll_processing_payments, recover_in_flight

    settings = get_settings()
    engine = create_engine(settings, url=url)
    try:
        recovered = await recover_in_flight(
            engine, runtime=ProviderRuntime.from_settings(settings), limit=limit
        )
        result = await poll_processing_payments(
            engine,
            runtime=ProviderRuntime.from_settings(settings),
            limit=limit,
            min_age_seconds=min_age,
        )
    finally:
        await engine.dispose()
    return (
        result.checked + recovered.checked,
        len(result.resolved) + len(recovered.resolved),
        result.errors + recovered.errors,
    )


def register(root: typer.Typer) -> None:
    root.add_typer(keys_app, name="keys")
    root.add_typer(payments_app, name="payments")
