"""`moneyrail create-admin` (a platform administrator) and the demo tenant of `serve --demo`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from moneyrail.core.settings import get_settings
from moneyrail.identity.demo import CREDENTIALS_FILE, DEMO_EMAIL, ensure_demo


def _create_admin(database_url: str, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "moneyrail",
            "create-admin",
            "--email",
            email,
            "--password",
            password,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_create_admin_signs_in_as_platform_admin(
    database_url: str, client: httpx.AsyncClient
) -> None:
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    password = "platform admin password"
    result = await asyncio.to_thread(_create_admin, database_url, email, password)
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    again = await asyncio.to_thread(_create_admin, database_url, email, password)
    assert again.returncode == 1 and "exists" in again.stderr

    tokens = await client.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert tokens.status_code == 200, tokens.text
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = (await client.get("/auth/me", headers=headers)).json()
    assert me["is_platform_admin"] is True and me["tenant_id"] is None
    assert (await client.get("/monitoring/stats/system", headers=headers)).status_code == 200
    dashboard = await client.get("/admin/dashboard", headers=headers)
    assert dashboard.status_code == 200 and dashboard.json()["tenant_id"] is None
    logs = await client.get(
        "/admin/audit-logs", params={"action": "identity.user.created"}, headers=headers
    )
    assert logs.status_code == 200 and any(
        r["tenant_id"] == "_platform" for r in logs.json()["data"]
    )
    refreshed = await client.post(
        "/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # Not a tenant member: no tenant writes.
    assert (await client.post("/api-keys", json={"name": "x"}, headers=headers)).status_code == 403


def test_demo_is_created_once(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        ensure_demo(database_url)
        first = capsys.readouterr().out
        credentials = json.loads((tmp_path / CREDENTIALS_FILE).read_text())
        assert oct((tmp_path / CREDENTIALS_FILE).stat().st_mode & 0o777) == "0o600"
        assert DEMO_EMAIL in first and credentials["api_key"] in first and "curl" in first
        ensure_demo(database_url)
        second = capsys.readouterr().out
        assert credentials["api_key"] in second
        assert json.loads((tmp_path / CREDENTIALS_FILE).read_text()) == credentials
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
