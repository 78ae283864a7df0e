"""A tenant's stored routing rules: read, replace, and turn into a `routing.RoutingTable`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.service import audit
from moneyrail.auth.subject import AuthSubject
from moneyrail.payments.routing import rules as routing
from moneyrail.payments.routing.repository import repository
from moneyrail.payments.routing.schemas import RoutingRuleIn, RoutingRulesIn


@dataclass(frozen=True)
class StoredRules:
    rules: list[RoutingRuleIn]
    default: list[str]
    updated_at: datetime | None


def _rule(data: dict[str, Any]) -> routing.Rule:
    return routing.Rule(
        providers=tuple(data.get("providers") or ()),
        currency=data.get("currency"),
        country=data.get("country"),
        method=data.get("method"),
        amount_min=data.get("amount_min"),
        amount_max=data.get("amount_max"),
    )


class RoutingRulesService:
    async def get(self, session: AsyncSession, *, tenant_id: str) -> StoredRules:
        row = await repository.routing(session, tenant_id=tenant_id)
        if row is None:
            return StoredRules(rules=[], default=[], updated_at=None)
        return StoredRules(
            rules=[RoutingRuleIn.model_validate(rule) for rule in row.rules],
            default=list(row.default_providers),
            updated_at=row.updated_at,
        )

    async def replace(
        self, session: AsyncSession, *, subject: AuthSubject, body: RoutingRulesIn
    ) -> StoredRules:
        before = await self.get(session, tenant_id=subject.tenant_id)
        rules = [rule.model_dump(exclude_none=True) for rule in body.rules]
        row = await repository.save_routing(
            session, tenant_id=subject.tenant_id, rules=rules, default_providers=list(body.default)
        )
        await audit.record(
            session,
            subject=subject,
            action="payments.routing.updated",
            target_type="routing_rules",
            target_id=subject.tenant_id,
            before={
                "rules": [r.model_dump(exclude_none=True) for r in before.rules],
                "default": before.default,
            },
            after={"rules": rules, "default": list(body.default)},
        )
        return StoredRules(
            rules=list(body.rules), default=list(body.default), updated_at=row.updated_at
        )

    async def table(self, session: AsyncSession, *, tenant_id: str) -> routing.RoutingTable:
        stored = await repository.routing_table(session, tenant_id=tenant_id)
        if stored is None:
            return routing.RoutingTable()
        rules, default = stored
        return routing.RoutingTable(
            rules=tuple(_rule(rule) for rule in rules), default=tuple(default)
        )


routing_rules = RoutingRulesService()
