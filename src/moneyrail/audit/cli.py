"""`moneyrail audit ...`: check the audit log's hash chains."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from moneyrail.audit.anchor import AnchorCheck
    from moneyrail.audit.service import VerifyResult

app = typer.Typer(help="Inspect the append-only audit log.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("verify")
def verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Check only this tenant's chain.")
    ] = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="Also check the chains against an anchor taken by `audit anchor`.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Recompute every tenant's hash chain; name the first broken row of each broken chain."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.settings import get_settings

    settings = get_settings()
    url = resolve_database_url(settings)
    result = asyncio.run(_verify(url, tenant))
    failed = not result.ok
    for broken in result.breaks:
        typer.echo(f"audit chain broken: {broken.describe()}")
    if anchor is not None:
        try:
            recorded = json.loads(anchor.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            recorded = {}
        checked = asyncio.run(_check_anchor(url, recorded, settings.secret_key))
        for problem in checked.problems:
            typer.echo(f"audit anchor: {problem}")
        failed = failed or not checked.ok
        if checked.ok:
            typer.echo(f"audit anchor holds: {checked.chains} chains match it")
    if failed:
        raise typer.Exit(code=1)
    typer.echo(f"audit log intact: {result.rows} rows in {result.tenants} chains")


@app.command("anchor")
def anchor(
    output: Annotated[
        Path | None, typer.Option(help="Write the anchor here (default: standard output).")
    ] = None,
) -> None:
    """Record every chain's head, signed with a key derived from SECRET_KEY; keep it outside
    the database, and pass it to `audit verify --anchor` later."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.settings import get_settings

    settings = get_settings()
    url = resolve_database_url(settings)
    taken = asyncio.run(_take_anchor(url, settings.secret_key))
    text = json.dumps(taken, indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


async def _take_anchor(url: str, secret_key: str) -> dict[str, Any]:
    from moneyrail.audit import anchor as anchors

    async with _session(url) as session:
        return await anchors.take(session, key=anchors.anchor_key(secret_key))


async def _check_anchor(url: str, recorded: dict[str, Any], secret_key: str) -> AnchorCheck:
    from moneyrail.audit import anchor as anchors

    async with _session(url) as session:
        return await anchors.check(session, anchor=recorded, key=anchors.anchor_key(secret_key))


@asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    from moneyrail.core.db import create_engine
    from moneyrail.core.settings import get_settings

    engine = create_engine(get_settings(), url=url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            yield session
    finally:
        await engine.dispose()


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
