from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.deps import require
from moneyrail.auth.roles import Role
from moneyrail.auth.subject import AuthSubject
from moneyrail.identity.models import ApiKey
from tests.conftest import problem
from tests.factories import add_api_key, make_tenant


def _routes(app: FastAPI) -> None:
    @app.get("/api/v1/_test/whoami")
    async def whoami(
        subject: Annotated[AuthSubject, Depends(require(scope="ledger:read"))],
    ) -> dict[str, str]:
        return {"tenant_id": subject.tenant_id, "role": subject.role.value}

    @app.post("/api/v1/_test/write")
    async def write(
        subject: Annotated[AuthSubject, Depends(require(scope="ledger:write"))],
    ) -> dict[str, str]:
        return {"ok": subject.actor_id}


async def test_api_key_in_either_header(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    for headers in (
        {"X-API-Key": tenant.api_key},
        {"Authorization": f"Bearer {tenant.api_key}"},
    ):
        response = await client.get("/_test/whoami", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"tenant_id": tenant.tenant_id, "role": "owner"}


async def test_missing_or_bad_key_is_401(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    problem(await client.get("/_test/whoami"), 401, "unauthorized")
    tampered = tenant.api_key[:-1] + ("A" if tenant.api_key[-1] != "A" else "B")
    problem(await client.get("/_test/whoami", headers={"X-API-Key": tampered}), 401)
    problem(await client.get("/_test/whoami", headers={"X-API-Key": "mr_test_short"}), 401)


async def test_revoked_and_expired_keys_are_401(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, system_session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    await system_session.execute(
        update(ApiKey)
        .where(ApiKey.id == tenant.api_key_id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    problem(await client.get("/_test/whoami", headers=tenant.headers), 401)
    await system_session.execute(
        update(ApiKey)
        .where(ApiKey.id == tenant.api_key_id)
        .values(expires_at=None, revoked_at=datetime.now(UTC))
    )
    problem(await client.get("/_test/whoami", headers=tenant.headers), 401)


async def test_viewer_cannot_write(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(session)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    assert (await client.get("/_test/whoami", headers=viewer.headers)).status_code == 200
    problem(await client.post("/_test/write", headers=viewer.headers), 403, "forbidden")
    assert (await client.post("/_test/write", headers=tenant.headers)).status_code == 200
