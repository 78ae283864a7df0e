from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from moneyrail.core.errors import AppError, InvariantViolation, invariant
from moneyrail.core.settings import Settings
from moneyrail.main import create_app
from tests.conftest import problem


class Thing(BaseModel):
    name: str = Field(min_length=1)
    amount: int
    currency: str


class InsufficientFunds(AppError):
    code = "insufficient_funds"
    status = 422
    title = "Insufficient funds"


def _routes(app: FastAPI) -> None:
    @app.post("/api/v1/_test/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @app.get("/api/v1/_test/broke")
    async def broke() -> None:
        raise InsufficientFunds("balance 10 is below 30")

    @app.get("/api/v1/_test/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    body = problem(response, 404, "not_found")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_invalid_json_lists_fields(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    response = await client.post(
        "/_test/things", content=b"{", headers={"content-type": "application/json"}
    )
    body = problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["type"] == "json_invalid"
    response = await client.post("/_test/things", json={"name": "", "amount": "x"})
    body = problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "amount", "currency"}


async def test_app_error_carries_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    body = problem(await client.get("/_test/broke"), 422, "insufficient_funds")
    assert body["detail"] == "balance 10 is below 30"


async def test_unexpected_error_is_500_without_internals(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _routes(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
        response = await c.get("/_test/crash")
    body = problem(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert body["request_id"]


async def test_method_not_allowed(client: httpx.AsyncClient) -> None:
    problem(await client.delete("/health"), 405, "method_not_allowed")


async def test_body_too_large(app: FastAPI, client: httpx.AsyncClient) -> None:
    _routes(app)
    response = await client.post("/_test/things", content=b"x" * 2_000_000)
    problem(response, 413, "payload_too_large")


def test_invariant_is_not_an_exception() -> None:
    invariant(True, "fine")
    try:
        invariant(False, "entry unbalanced")
    except Exception:  # pragma: no cover - must not be reached
        raise AssertionError("invariant violations must escape `except Exception`") from None
    except InvariantViolation as exc:
        assert "unbalanced" in str(exc)


async def test_unreachable_database_is_a_503_to_retry(settings: Settings) -> None:
    # Nothing listens on port 1: the connection is refused before any statement runs.
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://moneyrail@127.0.0.1:1/none"}
    )
    app = create_app(down)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client,
    ):
        response = await client.get(
            "/ledger/accounts/lacc_x", headers={"X-API-Key": "mr_test_" + "a" * 40}
        )
    body = problem(response, 503, "database_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "127.0.0.1" not in response.text
    assert body["request_id"]
