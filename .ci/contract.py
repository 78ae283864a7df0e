"""The API contract check: Schemathesis against the live server, on a fresh database.

    python3 dev.py contract              # what CI runs
    python3 dev.py contract --max-examples 5 --include-tag ledger

Starts `moneyrail serve` on a free port against a database of its own (created on the
PostgreSQL that `TEST_DATABASE_URL` names, else on the embedded PostgreSQL), signs up a
tenant, mints an admin API key, and runs every Schemathesis phase with every check except
`positive_data_acceptance` (reusing an Idempotency-Key is refused by design, so a
schema-valid request is not always accepted). Extra arguments go to `schemathesis run`.
Exits with Schemathesis's status; the server's log is kept in `.moneyrail/contract/`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".moneyrail" / "contract"
BIN = Path(sys.executable).parent
# Bounds of the whole run: CI gives the contract check at most five minutes.
RUN_SECONDS_MAX = 270
MAX_EXAMPLES = 12
SERVER_START_SECONDS_MAX = 60
CREDENTIAL_ENDING = (
    "identity_revoke",
    "identity_revoke_key",
    "identity_logout",
    "identity_change_password",
    "admin_set_role",
    "admin_set_status",
)


def _server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return configured.replace("postgresql+asyncpg://", "postgresql://", 1)
    from moneyrail.core import embedded_pg

    url = embedded_pg.start(ROOT / ".moneyrail" / "test", database="postgres")
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(server: str, statement: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS_MAX
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}; see {OUT / 'server.log'}")
        try:
            if httpx.get(f"{base}/api/v1/monitoring/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit("the server did not become ready")


def _api_key(base: str) -> str:
    email = f"contract-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{base}/api/v1/auth/signup",
        json={"email": email, "password": "contract check password", "organization_name": "C"},
    )
    signup.raise_for_status()
    token = signup.json()["access_token"]
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "contract", "role": "admin"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
    )
    key.raise_for_status()
    return str(key.json()["key"])


def main(extra: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    server_url = _server_url()
    name = f"mr_contract_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    database_url = server_url.rsplit("/", 1)[0] + f"/{name}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    log = (OUT / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603
        [str(BIN / "moneyrail"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(base, server)
        key = _api_key(base)
        common = [
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-response-time",
            "2",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            os.environ.get("CONTRACT_WORKERS", "1"),
            "--header",
            f"X-API-Key: {key}",
            "--seed",
            os.environ.get("CONTRACT_SEED", "1"),
            "--report",
            "junit",
            "--report-dir",
            str(OUT),
            *extra,
        ]
        deadline = time.monotonic() + RUN_SECONDS_MAX
        # Operations that can take the run's own credential away (revoke its key, demote or
        # disable the user who minted it) run last, on their own, so the main run keeps a
        # working key throughout.
        exclude = [arg for op in CREDENTIAL_ENDING for arg in ("--exclude-operation-id", op)]
        include = [arg for op in CREDENTIAL_ENDING for arg in ("--include-operation-id", op)]
        status = 0
        for selection in (exclude, include):
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"the contract check ran past {RUN_SECONDS_MAX} s", file=sys.stderr)
                return 1
            command = [str(BIN / "schemathesis"), "run", *common, *selection]
            try:
                completed = subprocess.run(command, timeout=left, check=False)  # noqa: S603
            except subprocess.TimeoutExpired:
                print(f"the contract check ran past {RUN_SECONDS_MAX} s", file=sys.stderr)
                return 1
            status = status or completed.returncode
        return status
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
