"""Dates at the edges of the calendar in banking query parameters: 200 or a clear 4xx."""

from __future__ import annotations

import httpx

from tests.banking.conftest import Bank, new_account


async def test_statement_and_report_dates_at_the_calendar_edges(
    client: httpx.AsyncClient, bank: Bank
) -> None:
    number = await new_account(client, bank.operator, deposit=1_000)
    headers = bank.viewer.headers
    for params in (
        {"from": "0001-01-01", "to": "0001-01-31"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "9999-12-31"},
        {"to": "0001-01-01"},
    ):
        response = await client.get(f"/accounts/{number}/statement", params=params, headers=headers)
        assert response.status_code in (200, 422), (params, response.text)
        if response.status_code == 422:
            assert response.json()["code"] in ("invalid_statement_range", "validation_error")
    for day in ("0001-01-01", "9999-12-31"):
        response = await client.get("/reports/daily-summary", params={"date": day}, headers=headers)
        assert response.status_code in (200, 422), (day, response.text)
    for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
        response = await client.get(
            f"/accounts/{number}/transactions", params=params, headers=headers
        )
        assert response.status_code in (200, 422), (params, response.text)
