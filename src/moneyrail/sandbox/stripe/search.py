"""Stripe sandbox: `GET /v1/payment_intents/search` and `GET /v1/subscriptions/search`
(Stripe's Search Query Language, the subset moneyrail sends: `metadata['key']:'value'`
clauses joined by `AND`).

Answers Stripe's `search_result` list object. Stripe documents that search is eventually
consistent (new objects may be missing for up to a minute); the sandbox answers at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from moneyrail.sandbox.stripe.wire import Params, error, public

if TYPE_CHECKING:
    from moneyrail.sandbox.stripe.routes import StripeSandbox

_CLAUSE = re.compile(r"^metadata\[['\"](?P<key>[^'\"]+)['\"]\]:['\"](?P<value>[^'\"]*)['\"]$")
_LIMIT_MAX = 100


def _clauses(query: str) -> list[tuple[str, str]]:
    clauses: list[tuple[str, str]] = []
    for part in re.split(r"\s+AND\s+", query.strip()):
        match = _CLAUSE.match(part.strip())
        if match is None:
            raise error(
                400,
                f"Invalid query: {query!r}. This sandbox supports metadata['key']:'value' "
                "clauses joined by AND.",
                param="query",
            )
        clauses.append((match["key"], match["value"]))
    return clauses


def search_routes(sandbox: StripeSandbox) -> list[Route]:
    """The search routes, to be listed before `/v1/payment_intents/{id}` and
    `/v1/subscriptions/{id}`."""

    def searching(kind: str, url: str) -> Route:
        async def search(p: Params, owner: str, request: Request) -> tuple[int, dict[str, Any]]:
            query = str(p.get("query") or "")
            if not query:
                raise error(400, "Missing required param: query.", param="query")
            clauses = _clauses(query)
            limit = min(int(p.get("limit") or 10), _LIMIT_MAX)
            state = sandbox.state
            found = [
                public(obj)
                for obj_id, obj in list(state.objects.items())
                if obj.get("object") == kind
                and state.owner_of(obj_id) == owner
                and all((obj.get("metadata") or {}).get(k) == v for k, v in clauses)
            ]
            return 200, {
                "object": "search_result",
                "url": url,
                "has_more": len(found) > limit,
                "next_page": None,
                "data": found[:limit],
            }

        return Route(url, sandbox.endpoint(search), methods=["GET"])

    return [
        searching("payment_intent", "/v1/payment_intents/search"),
        searching("subscription", "/v1/subscriptions/search"),
    ]
