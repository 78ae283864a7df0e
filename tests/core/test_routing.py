"""The domain routers' prefix guard (`core.routing.PrefixRouter`) works only while FastAPI
asks an included router whether a request is its own (`matches`) rather than flattening its
routes into the app. This fails loudly if an upgrade changes that."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from fastapi import APIRouter, FastAPI
from starlette.routing import Match

from moneyrail.core.routing import PrefixRouter


class _Counted(PrefixRouter):
    asked: ClassVar[list[str]] = []

    def matches(self, scope: Any) -> tuple[Match, Any]:
        _Counted.asked.append(scope["path"])
        return super().matches(scope)


async def test_fastapi_asks_each_domain_router_through_its_guard() -> None:
    alpha, beta = APIRouter(), APIRouter()

    @alpha.get("/alpha/one")
    async def one() -> dict[str, str]:
        return {"from": "alpha"}

    @beta.get("/beta/two")
    async def two() -> dict[str, str]:
        return {"from": "beta"}

    app = FastAPI()
    for router in (alpha, beta):
        app.include_router(_Counted(router, mounted_at="/api"), prefix="/api")
    _Counted.asked.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/beta/two")).json() == {"from": "beta"}
        assert (await client.get("/api/alpha/one")).json() == {"from": "alpha"}
        assert (await client.get("/api/gamma")).status_code == 404
    assert _Counted.asked, "FastAPI no longer asks included routers to match: the guard is bypassed"


def test_a_guard_refuses_paths_outside_its_prefixes_at_once() -> None:
    router = APIRouter()

    @router.get("/ledger/accounts")
    async def accounts() -> None: ...

    guard = PrefixRouter(router, mounted_at="/api/v1")
    scope = {"type": "http", "path": "/api/v1/payments", "method": "GET", "root_path": ""}
    assert guard.matches(scope)[0] is Match.NONE
    assert guard.prefixes == ("/api/v1/ledger",)
