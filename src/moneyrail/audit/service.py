"""The audit log: append-only, hash-chained per tenant.

`audit.record(...)` queues an event on the session; the rows are appended just before the
transaction commits (`core.db.on_before_commit`), so the tenant's chain head is locked only
for the last moment of the transaction, and an event exists exactly when its change does.

Request sessions (`SessionDep`) run the pre-commit hooks themselves. Code that commits its
own sessions (CLI commands, jobs) must call `await flush_audit(session)` before committing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit import chain
from moneyrail.audit.chain import GENESIS_HASH, PLATFORM_TENANT_ID, ChainFields
from moneyrail.audit.models import AuditLog
from moneyrail.audit.repository import repository
from moneyrail.auth.subject import AuthSubject
from moneyrail.core import limits
from moneyrail.core.db import (
    BYPASS_SETTING,
    bypass_tenant_scope,
    on_before_commit,
    run_before_commit,
)
from moneyrail.core.errors import Unprocessable
from moneyrail.core.ids import new_id
from moneyrail.core.pagination import PageParams, make_page, paginate_by_key
from moneyrail.core.request_context import current

log = structlog.get_logger(__name__)

_PENDING_KEY = "moneyrail.audit.pending"
_HOOK_KEY = "moneyrail.audit.append"
_SET_OFF = text("SELECT set_config(:name, 'off', true)")


class InvalidAuditEvent(Unprocessable):
    code = "invalid_audit_event"
    title = "Invalid audit event"


@dataclass(frozen=True)
class _Pending:
    tenant_id: str
    id: str
    created_at: datetime
    actor_type: str | None
    actor_id: str | None
    action: str
    target_type: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class ChainBreak:
    tenant_id: str
    seq: int
    row_id: str | None
    reason: str

    def describe(self) -> str:
        row = self.row_id or "(missing row)"
        return f"tenant {self.tenant_id}: row {row} (seq {self.seq}): {self.reason}"


@dataclass
class VerifyResult:
    tenants: int = 0
    rows: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


class AuditService:
    async def record(
        self,
        session: AsyncSession,
        *,
        subject: AuthSubject | None = None,
        tenant_id: str | None = None,
        action: str,
        target_type: str,
        target_id: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        actor_type: str | None = None,
        actor_id: str | None = None,
    ) -> None:
        """Queue one audit event; it is appended to its tenant's chain just before commit.

        The actor is the subject unless `actor_type`/`actor_id` name one (e.g. a failed login
        has no subject). Keys that look like secrets in `before`/`after` are redacted.

        Raises:
            InvalidAuditEvent: an empty or overlong action or target type.
        """
        if not action or len(action) > limits.audit_action_length_max:
            raise InvalidAuditEvent("the audit action must be 1-100 characters")
        if not target_type or len(target_type) > limits.audit_target_type_length_max:
            raise InvalidAuditEvent("the audit target type must be 1-64 characters")
        context = current()
        tenant = tenant_id or (subject.tenant_id if subject is not None else None)
        entry = _Pending(
            tenant_id=tenant or PLATFORM_TENANT_ID,
            id=new_id("aud"),
            created_at=datetime.now(UTC),
            actor_type=actor_type or (subject.actor_type if subject is not None else "system"),
            actor_id=actor_id or (subject.actor_id if subject is not None else None),
            action=action,
            target_type=target_type,
            target_id=target_id[: limits.audit_target_id_length_max] if target_id else None,
            ip=context.ip,
            user_agent=context.user_agent,
            request_id=context.request_id,
            before=chain.summary(before),
            after=chain.summary(after),
        )
        pending: list[_Pending] = session.info.setdefault(_PENDING_KEY, [])
        pending.append(entry)
        on_before_commit(session, _HOOK_KEY, self._append_pending)

    async def _append_pending(self, session: AsyncSession) -> None:
        entries: list[_Pending] = session.info.pop(_PENDING_KEY, [])
        if not entries:
            return
        by_tenant: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_tenant.setdefault(entry.tenant_id, []).append(_wire(entry))
        now = datetime.now(UTC)
        # A fixed order of tenants keeps two transactions from locking heads in opposite order.
        for tenant_id in sorted(by_tenant):
            await repository.append(
                session, tenant_id=tenant_id, rows=_json(by_tenant[tenant_id]), now=now
            )

    async def list_logs(
        self,
        session: AsyncSession,
        *,
        tenant_id: str | None,
        params: PageParams,
        actor_id: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[AuditLog], str | None]:
        """A page of a tenant's audit log, newest first (`tenant_id=None`: every tenant)."""
        stmt = repository.list_statement(
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
        )
        rows = (await session.scalars(paginate_by_key(stmt, AuditLog.id.expression, params))).all()
        return make_page(rows, params, lambda row: row.id)

    async def count_since(
        self, session: AsyncSession, *, tenant_id: str | None, since: datetime
    ) -> int:
        """Events of a tenant since a moment (None: every tenant; needs the bypass scope)."""
        return await repository.count_since(session, tenant_id=tenant_id, since=since)

    async def verify(self, session: AsyncSession, *, tenant_id: str | None = None) -> VerifyResult:
        """Recompute every link of one tenant's chain (or all chains) and report the breaks.

        A chain stops at its first broken row; later rows of that tenant are not judged.
        """
        await bypass_tenant_scope(session)
        tenants = [tenant_id] if tenant_id else await repository.chain_tenants(session)
        result = VerifyResult()
        for tenant in tenants:
            result.tenants += 1
            broken, checked = await self._verify_chain(session, tenant)
            result.rows += checked
            if broken is not None:
                result.breaks.append(broken)
        await session.execute(_SET_OFF, {"name": BYPASS_SETTING})
        return result

    async def _verify_chain(
        self, session: AsyncSession, tenant_id: str
    ) -> tuple[ChainBreak | None, int]:
        expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
        while True:
            batch = await repository.chain_batch(
                session,
                tenant_id=tenant_id,
                after_seq=expected_seq - 1,
                limit=limits.audit_verify_batch_size_max,
            )
            for row in batch:
                broken = _check_row(row, expected_seq=expected_seq, prev_hash=prev_hash)
                if broken is not None:
                    return broken, checked
                checked += 1
                expected_seq, prev_hash = row.seq + 1, row.hash
            if len(batch) < limits.audit_verify_batch_size_max:
                break
        head = await repository.head(session, tenant_id)
        last_seq = expected_seq - 1
        if head is None:
            if last_seq > 0:
                return ChainBreak(tenant_id, last_seq, None, "the chain has no head"), checked
        elif head.seq != last_seq or head.hash != prev_hash:
            reason = (
                f"the chain ends at seq {last_seq} but its head records seq {head.seq}; "
                "rows were removed from its end"
            )
            return ChainBreak(tenant_id, last_seq + 1, None, reason), checked
        return None, checked


def _wire(entry: _Pending) -> dict[str, Any]:
    """One pending row as `audit_append` takes it: its columns and its canonical pieces."""
    fields = entry.__dict__
    head, mid, tail = chain.canonical_parts(**fields)
    return {
        **fields,
        "created_at": chain.timestamp(entry.created_at),
        "head": head,
        "mid": mid,
        "tail": tail,
    }


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def _check_row(row: AuditLog, *, expected_seq: int, prev_hash: str) -> ChainBreak | None:
    if row.seq != expected_seq:
        reason = f"rows {expected_seq}..{row.seq - 1} are missing before this row"
        return ChainBreak(row.tenant_id, row.seq, row.id, reason)
    if row.prev_hash != prev_hash:
        return ChainBreak(
            row.tenant_id, row.seq, row.id, "its prev_hash does not match the previous row"
        )
    fields = ChainFields(
        tenant_id=row.tenant_id,
        seq=row.seq,
        id=row.id,
        created_at=row.created_at,
        actor_type=row.actor_type,
        actor_id=row.actor_id,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
        before=row.before,
        after=row.after,
        prev_hash=row.prev_hash,
    )
    if chain.row_hash(fields) != row.hash:
        return ChainBreak(
            row.tenant_id, row.seq, row.id, "its content does not match its hash (edited)"
        )
    return None


async def flush_audit(session: AsyncSession) -> None:
    """Append the queued audit rows (and run any other pre-commit hook) now.

    Call it before committing a session that is not a request session (CLI, jobs).
    """
    await run_before_commit(session)


audit = AuditService()
