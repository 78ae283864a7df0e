"""Limits hold across two `moneyrail serve` processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from moneyrail.core import limits
from tests.factories import make_live_tenant

pytestmark = pytest.mark.e2e

ANONYMOUS, AUTHENTICATED = 6, 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "moneyrail", "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + limits.e2e_server_start_timeout_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_two_servers_share_the_limits(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    tenant = await make_live_tenant(engine)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_PREFIX": f"mr-e2e-{uuid.uuid4().hex[:8]}:",
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ANONYMOUS": f"{ANONYMOUS}/minute",
        "RATE_LIMIT_REQUESTS": str(AUTHENTICATED),
        "RATE_LIMIT_PERIOD": "60",
        "SANDBOX_MOUNT": "false",
    }
    ports = [_free_port(), _free_port()]
    processes = [_start(port, env) for port in ports]
    bases = [f"http://127.0.0.1:{port}/api/v1" for port in ports]
    try:
        await asyncio.gather(*(asyncio.to_thread(_wait_ready, base) for base in bases))
        async with httpx.AsyncClient(timeout=10) as client:
            anonymous = [
                await client.post(
                    f"{bases[i % 2]}/auth/request-otp", json={"email": "nobody@example.com"}
                )
                for i in range(2 * ANONYMOUS)
            ]
            keyed = [
                await client.get(f"{bases[i % 2]}/auth/verify", headers=tenant.headers)
                for i in range(2 * AUTHENTICATED)
            ]
    finally:
        for process in processes:
            _stop(process)
    assert all(r.status_code < 500 for r in anonymous + keyed)
    assert sorted(r.status_code for r in anonymous) == [202] * ANONYMOUS + [429] * ANONYMOUS
    assert sorted(r.status_code for r in keyed) == [200] * AUTHENTICATED + [429] * AUTHENTICATED
    refused = next(r for r in keyed if r.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["ratelimit-limit"] == str(AUTHENTICATED)
    assert "retry-after" in refused.headers
    # Both servers answered both kinds of request.
    assert {r.url.port for r in anonymous} == set(ports)
