"""Helpers every banking sub-domain uses: audit-and-emit, lock modes, unique violations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.core.outbox import emit

Lock = Literal["share", "update"] | None

S = TypeVar("S", bound=Select[Any])


def locked(stmt: S, lock: Lock) -> S:
    if lock == "update":
        return stmt.with_for_update()
    if lock == "share":
        return stmt.with_for_update(read=True)
    return stmt


async def record(
    session: AsyncSession,
    *,
    subject: AuthSubject | None,
    tenant_id: str,
    action: str,
    target_type: str,
    target_id: str,
    event: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Audit a mutation and, when `event` is given, emit it through the outbox."""
    await audit.record(
        session,
        subject=subject,
        tenant_id=tenant_id,
        action=f"banking.{action}",
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    if event is not None:
        await emit(
            session, tenant_id=tenant_id, type=event, data={"id": target_id, **(after or {})}
        )


def is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "unique" in str(exc.orig).lower()


def plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def page_of(rows: Sequence[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"data": list(rows), "next_cursor": next_cursor}
