"""The `moneyrail` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console

from moneyrail import __version__
from moneyrail.core.logging import configure_logging
from moneyrail.core.settings import get_settings
from moneyrail.core.startup import resolve_database_url as resolve_database_url
from moneyrail.core.startup import settings_or_exit

app = typer.Typer(
    help="moneyrail: a self-hosted ledger, banking, payments and messaging service.",
    no_args_is_help=True,
    add_completion=False,
    # A failing command's traceback must not print its frames' locals (keys, URLs, secrets).
    pretty_exceptions_show_locals=False,
)
migrate_app = typer.Typer(help="Apply or inspect database migrations.", no_args_is_help=True)
app.add_typer(migrate_app, name="migrate")
console = Console(stderr=True)
# Shared with the domains' and the worker's commands (they import them from core).
_settings_or_exit = settings_or_exit


@app.callback()
def _configure() -> None:
    from moneyrail.core.logging import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.json_logs)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    demo: Annotated[
        bool, typer.Option(help="Create a demo tenant, admin user and API key on first start.")
    ] = False,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Run the API server (on an embedded PostgreSQL when DATABASE_URL is unset)."""
    import uvicorn

    settings = _settings_or_exit()
    # uvicorn's own loggers propagate to ours (log_config=None below), so under LOG_JSON
    # every line the server writes, the supervisor's and alembic's included, is JSON.
    configure_logging(level=settings.log_level, json=settings.json_logs)
    url = resolve_database_url(settings)
    if migrate:
        from moneyrail.core import migrate as migrations

        migrations.upgrade(url)
    if demo:
        from moneyrail.domains import optional_module

        demo_module = optional_module("identity.demo")
        if demo_module is None:
            console.print("moneyrail: --demo needs the identity module", highlight=False)
            raise typer.Exit(code=2)
        demo_module.ensure_demo(url)
    bind_host = host or settings.host
    bind_port = port or settings.port
    address = f"http://{bind_host}:{bind_port}"
    if settings.json_logs:
        structlog.get_logger("moneyrail.cli").info(
            "server.starting", version=__version__, address=address
        )
    else:
        console.print(
            f"moneyrail {__version__} on {address} (docs: {address}/docs)", highlight=False
        )
    uvicorn.run(
        "moneyrail.main:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=None if reload else workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=settings.request_timeout,
    )


@migrate_app.command("upgrade")
def migrate_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Apply migrations up to REVISION (default: all heads)."""
    from moneyrail.core import migrate as migrations

    migrations.upgrade(resolve_database_url(get_settings()), revision)
    console.print("migrations applied", highlight=False)


@migrate_app.command("downgrade")
def migrate_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Revert migrations down to REVISION."""
    from moneyrail.core import migrate as migrations

    migrations.downgrade(resolve_database_url(get_settings()), revision)
    console.print(f"downgraded to {revision}", highlight=False)


@migrate_app.command("current")
def migrate_current() -> None:
    """Print the revisions the database is at."""
    from moneyrail.core import migrate as migrations

    heads = migrations.current(resolve_database_url(get_settings()))
    typer.echo("\n".join(heads) if heads else "(empty database)")


@app.command("db-url")
def db_url() -> None:
    """Print the database URL in use, in libpq form for psql."""
    url = resolve_database_url(get_settings())
    typer.echo(url.replace("postgresql+asyncpg://", "postgresql://", 1))


@app.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option(help="Write the document here (default: standard output).")
    ] = None,
) -> None:
    """Print the API's OpenAPI document (the contract; generate clients from it)."""
    from moneyrail.main import openapi_document

    text = openapi_document()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def _mount_domain_commands() -> None:
    """Each domain may contribute commands through `moneyrail.<domain>.cli`: a Typer `app`
    mounted under the domain's name, or `register(root_app)` adding top-level commands."""
    from moneyrail.domains import DOMAINS, optional_module

    for domain in (*DOMAINS, "sandbox", "jobs", "worker"):
        module = optional_module(f"{domain}.cli")
        if module is None:
            continue
        if hasattr(module, "register"):
            module.register(app)
        elif hasattr(module, "app"):
            app.add_typer(module.app, name=domain)


_mount_domain_commands()


def main() -> None:  # pragma: no cover - console entry for `python -m moneyrail`
    sys.exit(app())
