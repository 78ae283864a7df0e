"""The kernel's refusal of JSON PostgreSQL cannot store, of deep nesting and of big bodies,
and the safety net for database data errors, statement timeouts and lost races."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import is_transient_database_error
from moneyrail.core.json_guard import check_json_body, json_depth_exceeds
from tests.conftest import problem
from tests.factories import make_tenant

ACCOUNT = '{"code": "c1", "name": NAME, "currency": "INR", "kind": "asset"}'


def _account(name: str) -> bytes:
    return ACCOUNT.replace("NAME", name).encode()


@pytest.mark.parametrize(
    ("raw", "field", "kind"),
    [
        (b'{"a": {"b": ["x\\u0000y"]}}', "a.b.0", "string_nul_character"),
        (b'{"a": "\\ud800"}', "a", "string_unpaired_surrogate"),
        (b'{"a": "\\uDC00 low first"}', "a", "string_unpaired_surrogate"),
        (b'{"a": "\\ud83dx"}', "a", "string_unpaired_surrogate"),
        (b'{"a": 1e999}', "a", "finite_number"),
        (b'{"a": [NaN]}', "a.0", "finite_number"),
        (b'{"a\\u0000": 1}', "body", "string_nul_character"),
    ],
)
def test_unstorable_values_name_their_field(raw: bytes, field: str, kind: str) -> None:
    found = check_json_body(raw)
    assert found is not None and found.status == 422 and found.code == "validation_error"
    assert found.errors == [
        {"field": field, "location": "body", "message": found.errors[0]["message"], "type": kind}
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\ud83d\\ude00"}',  # a surrogate pair: one emoji
        b'{"a": "\\\\u0000"}',  # an escaped backslash, then the text "u0000"
        b'{"a": "NaN Infinity 1e999"}',
        b'{"a": 1e308, "b": 100000000000000000000000000000}',
        b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
        b"not json at all \\u0000",
    ],
)
def test_storable_bodies_pass(raw: bytes) -> None:
    assert check_json_body(raw) is None


def test_depth_is_measured_outside_strings() -> None:
    depth = limits.json_depth_max
    assert not json_depth_exceeds(b"[" * depth + b"]" * depth)
    assert json_depth_exceeds(b"[" * (depth + 1) + b"]" * (depth + 1))
    assert not json_depth_exceeds(b'["' + b"[" * 5_000 + b'\\"", 1]')
    found = check_json_body(b"[" * 5_000 + b"]" * 5_000)
    assert found is not None and (found.status, found.code) == (400, "json_too_deep")


async def test_refused_before_the_route(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    headers = {**tenant.headers, "Content-Type": "application/json"}
    for name, field in (('"x\\u0000"', "name"), ('"\\ud800"', "name")):
        started = time.perf_counter()
        response = await client.post("/ledger/accounts", content=_account(name), headers=headers)
        assert time.perf_counter() - started < 1
        body = problem(response, 422, "validation_error")
        assert body["errors"][0]["field"] == field
    deep = "[" * 5_000 + "]" * 5_000
    deep_body = _account('"x", "metadata": {"k": ' + deep + "}")
    problem(
        await client.post("/ledger/accounts", content=deep_body, headers=headers),
        400,
        "json_too_deep",
    )
    # No content type: FastAPI parses JSON all the same, so the guard checks it too.
    response = await client.post(
        "/ledger/accounts", content=_account('"x\\u0000"'), headers=tenant.headers
    )
    problem(response, 422, "validation_error")


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    big = _account('"' + "x" * (limits.request_body_bytes_max + 10) + '"')
    headers = {**tenant.headers, "Content-Type": "application/json"}
    problem(
        await client.post("/ledger/accounts", content=big, headers=headers),
        413,
        "payload_too_large",
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    problem(
        await client.post("/ledger/accounts", content=chunks(), headers=headers),
        413,
        "payload_too_large",
    )


@pytest_asyncio.fixture
async def probe_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with routes that run a given statement in the request's transaction."""

    @app.post("/probe/sql")
    async def run(payload: dict[str, list[str]], session: SessionDep) -> dict[str, str]:
        for statement in payload["sql"]:
            await session.execute(text(statement))
        return {"ok": "yes"}

    @app.post("/probe/raise")
    async def fail(payload: dict[str, str]) -> dict[str, str]:
        raise asyncpg.exceptions.SerializationError("could not serialize access")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT 99999999999999999999999::bigint", "22003"),
        ("SELECT 'x'::int", "22P02"),
        ('SELECT \'{"a": "\\u0000"}\'::jsonb', "22P05"),
        ("SELECT 1 / 0", "22012"),
        ("SELECT make_date(2020, 13, 1)", "22008"),
        ("SELECT repeat('x', 5)::varchar(2) || (SELECT NULL::text)", None),
    ],
)
async def test_database_data_errors_are_422(
    probe_app: httpx.AsyncClient, sql: str, sqlstate: str | None
) -> None:
    response = await probe_app.post("/probe/sql", json={"sql": [sql]})
    if sqlstate is None:  # an explicit cast truncates: no error, no 5xx
        assert response.status_code == 200
        return
    body = problem(response, 422, "invalid_value")
    assert body["sqlstate"] == sqlstate


async def test_statement_timeout_is_503(probe_app: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    response = await probe_app.post(
        "/probe/sql", json={"sql": ["SET LOCAL statement_timeout = 50", "SELECT pg_sleep(5)"]}
    )
    assert time.perf_counter() - started < 2
    problem(response, 503, "statement_timeout")
    assert int(response.headers["retry-after"]) >= 1


async def test_lost_races_are_503_to_retry(probe_app: httpx.AsyncClient) -> None:
    response = await probe_app.post("/probe/raise", json={})
    problem(response, 503, "transaction_conflict")
    assert response.headers["retry-after"] == "1"


def test_only_transient_errors_are_retryable() -> None:
    assert is_transient_database_error(asyncpg.exceptions.SerializationError("x"))
    assert is_transient_database_error(asyncpg.exceptions.DeadlockDetectedError("x"))
    assert is_transient_database_error(ConnectionResetError())
    assert not is_transient_database_error(asyncpg.exceptions.CharacterNotInRepertoireError("x"))
    assert not is_transient_database_error(asyncpg.exceptions.QueryCanceledError("x"))


async def test_every_connection_has_a_statement_timeout(session: AsyncSession) -> None:
    value = (await session.execute(text("SHOW statement_timeout"))).scalar_one()
    assert value == "15s"


@pytest.mark.parametrize(
    ("location", "raw"),
    [
        ("form", b"username=m%00x&password=secret"),
        ("form", b"username=%ED%A0%80&password=secret"),
        ("form", b"username=%FF&password=secret"),
        ("query", b"q=%00"),
        ("query", b"q=%ed%a0%80"),
    ],
)
async def test_forms_and_queries_refuse_unstorable_text(
    client: httpx.AsyncClient, location: str, raw: bytes
) -> None:
    """Text PostgreSQL cannot store is refused in form bodies and query strings as in JSON."""
    if location == "form":
        response = await client.post(
            "/auth/signin",
            content=raw,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    else:
        response = await client.get(f"/customers?{raw.decode()}")
    body = problem(response, 422, "validation_error")
    assert body["errors"][0]["location"] == ("body" if location == "form" else "query")


async def test_plain_forms_and_queries_pass(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signin",
        content=b"username=nobody%40example.com&password=%C3%BCber+secret",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 401), response.text
