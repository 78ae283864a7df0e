"""A server error logs what an operator needs and nothing a thief wants: no credential from
the request (not in the traceback's frames, not in any field), and a bounded line."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import Request

from moneyrail.core import limits
from moneyrail.core.settings import Settings
from moneyrail.main import create_app
from tests.conftest import problem

KEY = "mr_test_sEcReTsEcReTsEcReTsEcReTsEcReT0123456789"
BEARER = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXNlY3JldA"


@pytest.mark.parametrize("json_logs", [False, True], ids=["console", "json"])
async def test_a_500_leaves_no_credential_in_the_log(
    settings: Settings, capfd: pytest.CaptureFixture[str], json_logs: bool
) -> None:
    app = create_app(settings.model_copy(update={"log_json": json_logs, "log_level": "INFO"}))

    @app.get("/boom")
    async def boom(request: Request) -> None:
        api_key = request.headers["x-api-key"]  # a local in the failing frame
        headers = dict(request.headers)
        blob = "x" * 100_000
        raise RuntimeError(
            f"failed after reading {len(api_key)} characters, {len(headers)}, {len(blob)}"
        )

    capfd.readouterr()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(
            "/boom", headers={"X-API-Key": KEY, "Authorization": f"Bearer {BEARER}"}
        )
    problem(response, 500, "internal_error")
    captured = capfd.readouterr()
    output = captured.out + captured.err
    assert "http.unhandled_error" in output
    assert "RuntimeError" in output
    for secret in (KEY, BEARER, "sEcReT", "c2VjcmV0"):
        assert secret not in output
    lines = [line for line in output.splitlines() if line.strip()]
    if json_logs:
        error_lines = [json.loads(line) for line in lines if "http.unhandled_error" in line]
        assert error_lines and "exception" in error_lines[0]
    # A traceback is cut to the bound; the whole record stays within a few bounds' worth.
    record = output[output.index("http.unhandled_error") - 200 :]
    assert len(record) < 3 * limits.log_value_chars_max
