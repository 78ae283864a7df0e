"""`moneyrail sandbox …`: run the provider sandboxes on their own port."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Offline provider sandboxes that speak each provider's wire format.", no_args_is_help=True
)

DEFAULT_PORT = 8100


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
) -> None:
    """Serve every provider sandbox, each under `/<provider>` (e.g. `/stripe/v1/...`).

    The test hooks (`/<provider>/_sandbox/…`) answer without credentials here: keep this port
    on loopback or a private network."""
    import uvicorn

    from moneyrail.sandbox.app import available_providers

    typer.echo(f"sandboxes on http://{host}:{port}: {', '.join(available_providers())}")
    uvicorn.run(
        "moneyrail.sandbox.app:create_standalone_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
    )


@app.command("list")
def list_providers() -> None:
    """Print the providers that have a sandbox."""
    from moneyrail.sandbox.app import available_providers

    typer.echo("\n".join(available_providers()))
