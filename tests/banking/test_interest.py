from __future__ import annotations

import asyncio
import calendar
import json
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner

from moneyrail.banking.interest.service import interest
from moneyrail.banking.models import InterestAccrual, InterestCredit
from moneyrail.core.db import set_tenant
from moneyrail.core.settings import get_settings
from tests.banking.conftest import Bank, balance, new_account
from tests.factories import make_live_tenant


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


async def test_accrual_and_month_end_credit_run_once(
    client: httpx.AsyncClient, bank: Bank, session: AsyncSession
) -> None:
    default = await client.get("/banking/settings", headers=bank.viewer.headers)
    assert default.json()["savings_rate"] == "3.5"
    problem_response = await client.put(
        "/banking/settings", json={"savings_rate": "3.65"}, headers=bank.operator.headers
    )
    assert problem_response.status_code == 403
    updated = await client.put(
        "/banking/settings", json={"savings_rate": "3.65"}, headers=bank.admin.headers
    )
    assert updated.status_code == 200, updated.text

    savings = await new_account(client, bank.operator, deposit=100_000_00)
    current = await new_account(client, bank.operator, account_type="CURRENT", deposit=100_000_00)
    tenant_id = bank.owner.tenant_id
    month_end = _month_end(datetime.now(UTC).date())
    await set_tenant(session, tenant_id)

    first = await interest.accrue(session, tenant_id=tenant_id, day=month_end)
    # 1,00,000.00 at 3.65% for one day is exactly 10.00, credited at month end.
    assert (first.accrued, first.credited, dict(first.amounts)) == (1, 1, {"INR": 10_00})
    assert await balance(client, bank.viewer, savings) == 100_010_00
    assert await balance(client, bank.viewer, current) == 100_000_00

    again = await interest.accrue(session, tenant_id=tenant_id, day=month_end)
    assert (again.accrued, again.credited, dict(again.amounts)) == (0, 0, {})
    assert await balance(client, bank.viewer, savings) == 100_010_00
    assert await session.scalar(select(func.count()).select_from(InterestAccrual)) == 1
    assert await session.scalar(select(func.count()).select_from(InterestCredit)) == 1

    # The next month accrues on the credited balance and carries the fraction.
    next_day = month_end + timedelta(days=1)
    later = await interest.accrue(session, tenant_id=tenant_id, day=next_day)
    assert later.accrued == 1 and later.credited == 0
    amount = await session.scalar(
        select(InterestAccrual.amount).where(InterestAccrual.accrual_date == next_day)
    )
    assert str(amount) == "1000.100000"

    lines = (
        await client.get(f"/accounts/{savings}/statement", headers=bank.viewer.headers)
    ).json()["lines"]
    assert lines[-1]["kind"] == "interest" and lines[-1]["credit"]["amount"] == 10_00


@pytest.mark.slow
async def test_interest_job_from_the_command_line(
    live_client: httpx.AsyncClient,
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moneyrail.banking.cli import jobs_app
    from moneyrail.cli import app

    assert "jobs" in {group.name for group in app.registered_groups}
    tenant = await make_live_tenant(engine)
    number = await new_account(live_client, tenant, deposit=73_000_00)
    month_end = _month_end(datetime.now(UTC).date())
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        outputs = []
        for _ in range(2):
            # The command runs its own event loop, so it runs in a thread of its own here.
            result = await asyncio.to_thread(
                runner.invoke, jobs_app, ["interest-accrual", "--date", month_end.isoformat()]
            )
            assert result.exit_code == 0, result.output
            outputs.append(json.loads(result.output.strip().splitlines()[-1]))
    finally:
        get_settings.cache_clear()
    assert outputs[0]["date"] == month_end.isoformat()
    assert outputs[0]["accounts_credited"] >= 1
    assert outputs[1]["accounts_accrued"] == 0 and outputs[1]["accounts_credited"] == 0
    # 73,000.00 at 3.5% for a day is 7.00.
    assert await balance(live_client, tenant, number) == 73_007_00
