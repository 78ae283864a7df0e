"""`moneyrail create-admin`: a platform administrator (outside every tenant)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def register(root: typer.Typer) -> None:
    root.command("create-admin")(create_admin)


def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's e-mail (their login).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, confirmation_prompt=True, hide_input=True, help="Prompted when omitted."
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a platform superadmin who signs in with e-mail and password."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core import migrate
    from moneyrail.core.errors import AppError
    from moneyrail.core.settings import get_settings

    url = resolve_database_url(get_settings())
    migrate.upgrade(url)
    try:
        user_id = asyncio.run(_create(url, email=email, password=password, name=name))
    except AppError as exc:
        typer.echo(f"moneyrail: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"platform administrator {email.strip().lower()} created ({user_id})")


async def _create(url: str, *, email: str, password: str, name: str | None) -> str:
    from sqlalchemy.ext.asyncio import AsyncSession

    from moneyrail.audit.service import flush_audit
    from moneyrail.auth.roles import Role
    from moneyrail.core.db import bypass_tenant_scope, create_engine
    from moneyrail.core.settings import get_settings
    from moneyrail.identity.service import identity
    from moneyrail.identity.tokens.config import auth_config

    settings = get_settings()
    auth_config(settings)  # argon2 parameters for this environment
    engine = create_engine(settings, url=url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await bypass_tenant_scope(session)
            user = await identity.create_user(
                session,
                tenant_id=None,
                email=email,
                password=password,
                role=Role.owner,
                name=name,
                platform_admin=True,
            )
            await flush_audit(session)
            return user.id
    finally:
        await engine.dispose()
