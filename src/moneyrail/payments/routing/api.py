"""Payment routing rules."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute
from moneyrail.payments.auth import PaymentsRead, ServicesWrite
from moneyrail.payments.routing import rules as routing
from moneyrail.payments.routing.schemas import (
    RoutingRuleIn,
    RoutingRulesIn,
    RoutingRulesOut,
)
from moneyrail.payments.routing.service import routing_rules

router = APIRouter(tags=["payments"], route_class=IdempotentRoute)


@router.get("/routing/rules", response_model=RoutingRulesOut, summary="Payment routing rules")
async def get_routing_rules(subject: PaymentsRead, session: SessionDep) -> RoutingRulesOut:
    """The tenant's routing rules, in the order they are tried, and the default provider order."""
    stored = await routing_rules.get(session, tenant_id=subject.tenant_id)
    return _rules_out(stored.rules, stored.default, stored.updated_at)


@router.put(
    "/routing/rules",
    response_model=RoutingRulesOut,
    summary="Replace the payment routing rules",
    responses=problem_responses(422),
)
async def put_routing_rules(
    body: RoutingRulesIn, subject: ServicesWrite, session: SessionDep
) -> RoutingRulesOut:
    """Rules are tried in order; the first whose conditions all hold gives the providers to
    try, in order. `default` applies when none matches (then a built-in order per currency)."""
    stored = await routing_rules.replace(session, subject=subject, body=body)
    return _rules_out(stored.rules, stored.default, stored.updated_at)


def _rules_out(
    rules: list[RoutingRuleIn], default: list[str], updated_at: datetime | None
) -> RoutingRulesOut:
    return RoutingRulesOut(
        rules=rules,
        default=default,
        builtin_default={
            "*": list(routing.builtin_order("")),
            **{cur: list(routing.builtin_order(cur)) for cur in routing.BUILTIN_CURRENCIES},
        },
        updated_at=updated_at,
    )
