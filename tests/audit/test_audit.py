"""The audit log: appended at commit, hash-chained per tenant, append-only, verifiable."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from moneyrail.audit.chain import GENESIS_HASH
from moneyrail.audit.models import AuditChainHead, AuditLog
from moneyrail.audit.service import audit, flush_audit
from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.db import SessionDep, set_tenant
from tests.factories import make_tenant


def _routes(app: FastAPI) -> None:
    @app.post("/api/v1/_test/audited")
    async def audited(
        subject: Annotated[AuthSubject, Depends(require(scope="ledger:write"))],
        session: SessionDep,
    ) -> dict[str, str]:
        await audit.record(
            session,
            subject=subject,
            action="test.thing.created",
            target_type="thing",
            target_id="thg_1",
            after={"name": "x", "password": "hunter2", "nested": {"api_key": "mr_test_x"}},
        )
        return {"ok": "yes"}


async def test_request_appends_a_chained_row_with_request_context(
    app: FastAPI, client: httpx.AsyncClient, system_session: AsyncSession
) -> None:
    _routes(app)
    tenant = await make_tenant(system_session)
    for _ in range(2):
        response = await client.post(
            "/_test/audited",
            headers={**tenant.headers, "User-Agent": "audit-test/1.0", "X-Request-ID": "req-42"},
        )
        assert response.status_code == 200, response.text
    await set_tenant(system_session, tenant.tenant_id)
    rows = (
        await system_session.scalars(
            select(AuditLog).where(AuditLog.tenant_id == tenant.tenant_id).order_by(AuditLog.seq)
        )
    ).all()
    assert [r.seq for r in rows] == [1, 2]
    first, second = rows
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.actor_type == "api_key" and first.actor_id == tenant.api_key_id
    assert first.ip == "127.0.0.1" and first.user_agent == "audit-test/1.0"
    assert first.request_id == "req-42"
    assert first.after == {
        "name": "x",
        "password": "[redacted]",
        "nested": {"api_key": "[redacted]"},
    }
    head = await system_session.get(AuditChainHead, tenant.tenant_id)
    assert head is not None and head.seq == 2 and head.hash == second.hash
    result = await audit.verify(system_session, tenant_id=tenant.tenant_id)
    assert result.ok and result.rows == 2


async def test_failed_request_writes_no_audit_row(
    app: FastAPI, client: httpx.AsyncClient, system_session: AsyncSession
) -> None:
    @app.post("/api/v1/_test/audited-then-fails")
    async def fails(
        subject: Annotated[AuthSubject, Depends(require(scope="ledger:write"))],
        session: SessionDep,
    ) -> None:
        from moneyrail.core.errors import Conflict

        await audit.record(session, subject=subject, action="test.fail", target_type="thing")
        raise Conflict("no")

    tenant = await make_tenant(system_session)
    assert (
        await client.post("/_test/audited-then-fails", headers=tenant.headers)
    ).status_code == 409
    count = await system_session.scalar(
        select(AuditLog.seq).where(AuditLog.tenant_id == tenant.tenant_id)
    )
    assert count is None


async def test_app_role_cannot_update_or_delete(session: AsyncSession) -> None:
    tenant_id = f"ten_{uuid.uuid4().hex[:10]}"
    await audit.record(session, tenant_id=tenant_id, action="test.x", target_type="thing")
    await flush_audit(session)
    await set_tenant(session, tenant_id)
    for statement in (
        "UPDATE audit_logs SET action = 'forged'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_owner_is_stopped_by_the_trigger(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text("SELECT set_config('app.bypass_rls', 'on', true)"))
        await conn.execute(
            text(
                "INSERT INTO audit_logs (tenant_id, seq, id, created_at, action, target_type,"
                " prev_hash, hash) VALUES ('ten_x', 1, 'aud_x', now(), 'a', 't', 'p', 'h')"
            )
        )
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin_nested():
                await conn.execute(text("DELETE FROM audit_logs WHERE id = 'aud_x'"))
        await tx.rollback()


async def test_concurrent_appends_keep_one_chain(engine: AsyncEngine) -> None:
    tenant_id = f"ten_{uuid.uuid4().hex[:10]}"

    async def writer(n: int) -> None:
        async with AsyncSession(engine) as s, s.begin():
            for i in range(3):
                await audit.record(s, tenant_id=tenant_id, action=f"test.w{n}.{i}", target_type="t")
            await flush_audit(s)

    await asyncio.gather(*(writer(n) for n in range(6)))
    async with AsyncSession(engine) as s, s.begin():
        result = await audit.verify(s, tenant_id=tenant_id)
        assert result.ok, result.breaks
        assert result.rows == 18


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "moneyrail", "audit", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_verify_names_the_edited_row(
    database_url: str, engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant_id = f"ten_{uuid.uuid4().hex[:10]}"
    async with AsyncSession(engine) as s, s.begin():
        for i in range(4):
            await audit.record(
                s, tenant_id=tenant_id, action=f"test.step{i}", target_type="t", after={"i": i}
            )
        await flush_audit(s)
    clean = await asyncio.to_thread(_cli, database_url, "--tenant", tenant_id)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "intact" in clean.stdout

    async with owner_engine.begin() as conn:
        victim = (
            await conn.execute(
                text("SELECT id, after FROM audit_logs WHERE tenant_id = :t AND seq = 3"),
                {"t": tenant_id},
            )
        ).one()
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text("UPDATE audit_logs SET after = '{\"i\": 99}' WHERE id = :id"), {"id": victim.id}
        )
    try:
        broken = await asyncio.to_thread(_cli, database_url, "--tenant", tenant_id)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert victim.id in broken.stdout and "seq 3" in broken.stdout, broken.stdout
        everything = await asyncio.to_thread(_cli, database_url)
        assert everything.returncode == 1 and victim.id in everything.stdout
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text("UPDATE audit_logs SET after = '{\"i\": 2}' WHERE id = :id"), {"id": victim.id}
            )
    assert (await asyncio.to_thread(_cli, database_url, "--tenant", tenant_id)).returncode == 0


async def test_verify_reports_removed_rows(engine: AsyncEngine, owner_engine: AsyncEngine) -> None:
    tenant_id = f"ten_{uuid.uuid4().hex[:10]}"
    async with AsyncSession(engine) as s, s.begin():
        for i in range(3):
            await audit.record(s, tenant_id=tenant_id, action=f"test.r{i}", target_type="t")
        await flush_audit(s)
    async with owner_engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text("DELETE FROM audit_logs WHERE tenant_id = :t AND seq = 2"), {"t": tenant_id}
        )
        async with AsyncSession(bind=conn) as s:
            result = await audit.verify(s, tenant_id=tenant_id)
            assert not result.ok and result.breaks[0].seq == 3
            assert "missing" in result.breaks[0].reason
        await conn.execute(
            text("DELETE FROM audit_logs WHERE tenant_id = :t AND seq = 3"), {"t": tenant_id}
        )
        async with AsyncSession(bind=conn) as s:
            result = await audit.verify(s, tenant_id=tenant_id)
            assert not result.ok and "removed from its end" in result.breaks[0].reason
        await tx.rollback()


async def test_an_anchor_catches_a_chain_rewritten_with_valid_hashes(
    engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """Someone with database write access replaces a tenant's chain with one whose hashes
    all link: the chain alone verifies, the anchor taken earlier does not."""
    from moneyrail.audit import anchor as anchors

    key = anchors.anchor_key("a secret the database never sees, 32+ characters")
    tenant_id = f"ten_{uuid.uuid4().hex[:10]}"
    async with AsyncSession(engine) as s, s.begin():
        for i in range(3):
            await audit.record(s, tenant_id=tenant_id, action=f"test.a{i}", target_type="t")
        await flush_audit(s)
    async with AsyncSession(engine) as s, s.begin():
        taken = await anchors.take(s, key=key)
        assert taken["heads"][tenant_id]["seq"] == 3
        assert (await anchors.check(s, anchor=taken, key=key)).ok

    async with owner_engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in ("audit_logs", "audit_chain_heads"):
            await conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
        async with AsyncSession(bind=conn, join_transaction_mode="create_savepoint") as s:
            for i in range(3):
                await audit.record(s, tenant_id=tenant_id, action=f"forged.{i}", target_type="t")
            await flush_audit(s)
            assert (await audit.verify(s, tenant_id=tenant_id)).ok  # the chain itself links
            found = await anchors.check(s, anchor=taken, key=key)
            assert not found.ok
            assert any(tenant_id in p and "differs from the anchor" in p for p in found.problems)
            forged = {**taken, "heads": {**taken["heads"], tenant_id: {"seq": 3, "hash": "0" * 64}}}
            refused = await anchors.check(s, anchor=forged, key=key)
            assert refused.problems == ["the anchor's MAC does not match: it was altered or forged"]
        await tx.rollback()
