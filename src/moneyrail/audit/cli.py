"""`moneyrail audit ...`: check the audit log's hash chains."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from moneyrail.audit.service import VerifyResult

app = typer.Typer(help="Inspect the append-only audit log.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("verify")
def verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Check only this tenant's chain.")
    ] = None,
) -> None:
    """Recompute every tenant's hash chain; name the first broken row of each broken chain."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.settings import get_settings

    settings = get_settings()
    url = resolve_database_url(settings)
    result = asyncio.run(_verify(url, tenant))
    if result.ok:
        typer.echo(f"audit log intact: {result.rows} rows in {result.tenants} chains")
        return
    for broken in result.breaks:
        typer.echo(f"audit chain broken: {broken.describe()}")
    raise typer.Exit(code=1)


async def _verify(url: str, tenant: str | None) -> VerifyResult:
    from sqlalchemy.ext.asyncio import AsyncSession

    from moneyrail.audit.service import audit
    from moneyrail.core.db import create_engine
    from moneyrail.core.settings import get_settings

    engine = create_engine(get_settings(), url=url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            return await audit.verify(session, tenant_id=tenant)
    finally:
        await engine.dispose()
