"""Route matching that skips a domain's routes when the path cannot be one of them.

FastAPI matches a request against every route in turn, descending into each included router,
so a request for the sixth domain's endpoint is first tried against every route of the five
before it (about forty regular expressions). A domain router is wrapped in a `PrefixRouter`
that knows the first path segments its routes start with and answers "no match" at once for
any other path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from starlette.routing import Match, compile_path
from starlette.types import Scope


class PrefixRouter(APIRouter):
    """Includes one router; matches only paths under the first segments of its routes."""

    def __init__(self, inner: APIRouter, *, mounted_at: str) -> None:
        super().__init__()
        self.include_router(inner)
        segments = {_first_segment(path) for path in _paths(inner)}
        # A route whose first segment is a parameter (or the root) could match anything.
        self.prefixes: tuple[str, ...] | None = (
            None
            if any(s is None for s in segments)
            else tuple(sorted(f"{mounted_at}/{s}" for s in segments if s is not None))
        )

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefixes is not None and not _under(_route_path(scope), self.prefixes):
            return Match.NONE, {}
        return super().matches(scope)


def _paths(router: APIRouter) -> list[str]:
    return [
        str(getattr(context, "path_format", None) or getattr(context.original_route, "path", ""))
        for context in iter_route_contexts(router.routes)
    ]


def _first_segment(path: str) -> str | None:
    segment = path.lstrip("/").split("/", 1)[0]
    return None if not segment or "{" in segment else segment


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    for prefix in prefixes:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return True
    return False


def mount(app: Any, router: APIRouter, *, prefix: str) -> None:
    """`app.include_router(router, prefix=prefix)`, behind a prefix guard."""
    app.include_router(PrefixRouter(router, mounted_at=prefix), prefix=prefix)


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route of `app` answers at `path` (for a 405's `Allow` header).

    Starlette's 405 names only the methods of the first route whose path matches, but one
    path often has a route per method (`GET /payments` and `POST /payments`).
    A static path (`/ledger/transfers/batch`) names its own resource, so when one matches,
    the parameterised paths it would also match (`/ledger/transfers/{transfer_id}`) don't
    count.
    """
    table: list[tuple[Any, bool, frozenset[str]]] | None = getattr(app.state, "route_methods", None)
    if table is None:
        table = []
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            methods = getattr(route, "methods", None)
            if methods and context.path_format:
                # The full template with the route's own parameter convertors (`{x:int}`).
                own = str(getattr(route, "path_format", ""))
                path = context.path_format[: len(context.path_format) - len(own)]
                regex, _, _ = compile_path(path + str(getattr(route, "path", own)))
                table.append((regex, "{" not in context.path_format, frozenset(methods)))
        app.state.route_methods = table
    static: set[str] = set()
    found: set[str] = set()
    for regex, is_static, methods in table:
        if regex.match(path):
            (static if is_static else found).update(methods)
    return sorted(static or found)
