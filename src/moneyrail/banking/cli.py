"""`moneyrail jobs interest-accrual --date D`: the savings-interest job from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer

jobs_app = typer.Typer(
    help="Run scheduled jobs once (for cron or a scheduler).", no_args_is_help=True
)


@jobs_app.callback()
def _jobs() -> None:
    """Scheduled jobs, run once per call (for cron or a scheduler)."""


@jobs_app.command("interest-accrual")
def interest_accrual(
    day: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            formats=["%Y-%m-%d"],
            help="The day to accrue (default: yesterday, UTC). Rerunning a day changes nothing.",
        ),
    ] = None,
) -> None:
    """Accrue a day's savings interest; on a month's last day, credit the month's interest."""
    from moneyrail.cli import resolve_database_url
    from moneyrail.core.db import Database, create_engine
    from moneyrail.core.settings import get_settings

    target: date = day.date() if day else datetime.now(UTC).date() - timedelta(days=1)
    settings = get_settings()
    url = resolve_database_url(settings)

    async def run() -> str:
        from moneyrail.banking.tasks import run_interest_accrual

        database = Database(create_engine(settings, url=url))
        try:
            result = await run_interest_accrual(database.sessionmaker, day=target)
        finally:
            await database.dispose()
        return result.model_dump_json()

    typer.echo(asyncio.run(run()))


def register(root: typer.Typer) -> None:
    """Mount the `jobs` command group on the root CLI."""
    root.add_typer(jobs_app, name="jobs")
