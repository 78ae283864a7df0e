"""Hostile JSON against every POST/PUT/PATCH operation of the OpenAPI document.

For each operation with a JSON body, a minimal valid-looking body is built from the schema
(required properties; `example` when there is one), and each free-text string, object and
number field in turn gets a hostile value: text with NUL, a lone surrogate (raw JSON
`"\\ud800"`), 1e308, 10**30, an infinite number, nesting 5,000 deep and a 2 MB string. Every
answer must come within a second, be 2xx or 4xx, and a 4xx must be problem+json.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from typing import Any

import httpx
import hypothesis
import pytest
from fastapi import FastAPI
from hypothesis import strategies
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import TenantContext, make_tenant

pytestmark = pytest.mark.slow

PLACEHOLDER = "__hostile_value__"
ANSWER_SECONDS_MAX = 1.0
DEEP = "[" * 5_000 + "]" * 5_000
HOSTILE_TEXT = {
    "nul": '"a\\u0000b"',
    "lone_surrogate": '"a\\ud800b"',
    "lone_low_surrogate": '"\\udc00"',
    "huge_float": "1e308",
    "infinite_float": "1e999",
    "huge_int": str(10**30),
    "deep": DEEP,
    "two_megabytes": '"' + "x" * 2_000_000 + '"',
}
HOSTILE_NUMBER = {k: HOSTILE_TEXT[k] for k in ("huge_float", "infinite_float", "huge_int")}
DEPTH_MAX = 8  # schema nesting walked for fields


class Schema:
    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            # A reference the document does not define (its own test reports that) is
            # taken as any object.
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {"type": "object"})
            seen += 1
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                chosen = [o for o in options if o.get("type") != "null"] or options
                merged = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
                return {**chosen[0], **merged}
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged.update(
                    {k: v for k, v in part.items() if k not in ("properties", "required")}
                )
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged.setdefault("required", []).extend(part.get("required", []))
            return merged
        return schema

    def example(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if "example" in schema:
            return schema["example"]
        if schema.get("examples"):
            return schema["examples"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                prop: self.example(sub, prop, depth + 1)
                for prop, sub in schema.get("properties", {}).items()
                if prop in schema.get("required", []) and depth < DEPTH_MAX
            }
        if kind == "array":
            count = schema.get("minItems", 0)
            return [self.example(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
        if kind == "number":
            return max(float(schema.get("minimum", 1)), 1.0)
        if kind == "boolean":
            return False
        if kind == "string":
            return _string_for(name, schema)
        return "x"

    def fields(
        self, schema: dict[str, Any], path: tuple[str, ...] = (), depth: int = 0
    ) -> list[tuple[tuple[str, ...], str]]:
        """(path, kind) for every string, object and number field; kind: text|object|number."""
        schema = self.resolve(schema)
        if depth > DEPTH_MAX:
            return []
        found: list[tuple[tuple[str, ...], str]] = []
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            extra = schema.get("additionalProperties")
            if path and (extra is True or isinstance(extra, dict) or not schema.get("properties")):
                found.append(((*path, "k"), "object"))
            for prop, sub in schema.get("properties", {}).items():
                found.extend(self.fields(sub, (*path, prop), depth + 1))
        elif kind == "string" and "enum" not in schema and path:
            found.append((path, "text"))
        elif kind in ("integer", "number") and path:
            found.append((path, "number"))
        return found


def _string_for(name: str, schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2030-01-01T00:00:00Z"
    if fmt == "date":
        return "2030-01-01"
    if fmt == "email" or "email" in name:
        return "someone@example.com"
    if fmt in ("uri", "url") or name.endswith("url"):
        return "https://example.com/hook"
    if "currency" in name:
        return "INR"
    if "phone" in name or name == "to":
        return "+919876543210"
    if "password" in name:
        return "Correct-Horse-Battery-9"
    if "pattern" in schema:
        return _matching(schema["pattern"])
    length = max(int(schema.get("minLength", 1)), 1)
    return ("x" * length)[: schema.get("maxLength", length)]


@functools.cache
def _matching(pattern: str) -> str:
    """The simplest string matching a schema's pattern (hypothesis shrinks to it)."""
    found: str = hypothesis.find(
        strategies.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s),
        lambda _: True,
        settings=hypothesis.settings(database=None, max_examples=50),
    )
    return found


def _set(body: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of `body` with `value` at `path` (intermediate objects created)."""
    if not path:
        return value
    current = dict(body) if isinstance(body, dict) else {}
    current[path[0]] = _set(current.get(path[0]), path[1:], value)
    return current


# Bodies whose rules span fields (exactly one of…), which a schema cannot say.
BASES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/sms"): {"to": "+919876543210", "body": "hello"},
    ("POST", "/api/v1/email"): {"to": "someone@example.com", "subject": "hi", "text": "hello"},
    ("POST", "/api/v1/templates"): {"name": "greeting", "channel": "sms", "text": "hi {{name}}"},
    ("POST", "/api/v1/services/{provider}/credentials"): {"credentials": {"secret_key": "sk_x"}},
}


async def _ledger_bases(
    client: httpx.AsyncClient, tenant: TenantContext
) -> dict[tuple[str, str], dict[str, Any]]:
    """Transfer and entry bodies between two real accounts, so hostile values reach the
    statements that write them."""
    ids = []
    for kind in ("asset", "liability"):
        response = await client.post(
            "/ledger/accounts",
            json={
                "code": f"hostile:{uuid.uuid4().hex[:8]}",
                "name": kind,
                "currency": "INR",
                "kind": kind,
                "balance_limit": {"type": "none"},
            },
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    money = {"amount": 1, "currency": "INR"}
    return {
        ("POST", "/api/v1/ledger/transfers"): {
            "debit_account_id": ids[0],
            "credit_account_id": ids[1],
            "amount": money,
        },
        ("POST", "/api/v1/ledger/entries"): {
            "postings": [
                {"account_id": ids[0], "direction": "debit", "amount": money},
                {"account_id": ids[1], "direction": "credit", "amount": money},
            ]
        },
    }


def _operations(
    document: dict[str, Any],
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path, body schema, operation) of every operation with a JSON body."""
    found = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                found.append((method.upper(), path, schema, operation))
    return found


def _concrete(schema: Schema, path: str, operation: dict[str, Any]) -> str:
    """The path with each parameter filled (its example or first enum value, else an id)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            sub = schema.resolve(parameter.get("schema", {}))
            value = sub.get("enum", [parameter.get("example", "hostile_id")])[0]
            path = path.replace("{" + parameter["name"] + "}", str(value))
    return re.sub(r"\{[^}]+\}", "hostile_id", path).removeprefix("/api/v1")


async def _send(
    client: httpx.AsyncClient, tenant: TenantContext, method: str, path: str, text: str
) -> tuple[httpx.Response, float]:
    headers = {
        **tenant.headers,
        "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    started = time.perf_counter()
    response = await client.request(method, path, content=text.encode(), headers=headers)
    return response, time.perf_counter() - started


def _verdict(response: httpx.Response, elapsed: float, operation: dict[str, Any]) -> str | None:
    if elapsed > ANSWER_SECONDS_MAX:
        return f"took {elapsed:.2f} s"
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:300]}"
    content_type = response.headers.get("content-type", "").split(";")[0]
    # OAuth endpoints answer RFC 6749 errors as JSON where their document says so.
    documented = operation.get("responses", {}).get(str(response.status_code), {})
    if (
        response.status_code >= 400
        and content_type == "application/json"
        and ("application/json" in documented.get("content", {}))
    ):
        return None
    if response.status_code >= 400 and not content_type.startswith("application/problem+json"):
        return f"{response.status_code} without problem+json: {response.text[:200]}"
    return None


async def test_every_json_operation_survives_hostile_values(
    app: FastAPI, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    document = app.openapi()
    schema = Schema(document)
    operations = _operations(document)
    assert len(operations) > 20, "the OpenAPI document lists the JSON operations"
    failures: list[str] = []
    sent = 0
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver/api/v1"
    ) as client:
        bases = {**BASES, **await _ledger_bases(client, tenant)}
        for method, template, body_schema, operation in operations:
            path = _concrete(schema, template, operation)
            base = bases.get((method, template)) or schema.example(body_schema)
            for field_path, kind in schema.fields(body_schema):
                values = HOSTILE_NUMBER if kind == "number" else HOSTILE_TEXT
                skeleton = json.dumps(_set(base, field_path, PLACEHOLDER))
                for label, raw in values.items():
                    text = skeleton.replace(json.dumps(PLACEHOLDER), raw, 1)
                    response, elapsed = await _send(client, tenant, method, path, text)
                    sent += 1
                    problem = _verdict(response, elapsed, operation)
                    if problem is not None:
                        failures.append(
                            f"{method} {template} {'.'.join(field_path)}={label}: {problem}"
                        )
    assert sent > 100
    assert not failures, f"{len(failures)} of {sent} hostile requests failed:\n" + "\n".join(
        failures
    )
