"""The OpenAPI document is the contract: the committed `openapi.json` is the app's document,
and every operation in it is complete enough to generate a client from and to test against.

Walks the document, so operations added later are held to the same rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moneyrail.core.errors import PROBLEM_MEDIA_TYPE
from moneyrail.core.openapi import error_codes
from moneyrail.core.ratelimit import route_group
from moneyrail.main import openapi_document
from tests.core.test_idempotency import NOT_KEYED

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"
# FastAPI's default ids end in the path and the method (`create_transfer_api_v1_…_post`).
DEFAULT_ID = re.compile(r"_api_v1_|_(get|post|put|patch|delete)$")
# Operations that answer OAuth 2.0 errors (RFC 6749 §5.2) rather than problem+json.
OAUTH_ERRORS = {"identity_token", "identity_revoke", "identity_introspect", "identity_signin"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(openapi_document()))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_committed_document_is_the_apps(document: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == document, (
        "openapi.json differs from the app's document; regenerate it with "
        "`moneyrail openapi --output openapi.json` and review the difference"
    )


def test_every_operation_is_named_and_described(document: dict[str, Any]) -> None:
    missing = []
    ids = set()
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        operation_id = operation.get("operationId", "")
        if not operation_id or DEFAULT_ID.search(operation_id):
            missing.append(f"{where}: default operation id {operation_id!r}")
        ids.add(operation_id)
        for field in ("summary", "description"):
            if not str(operation.get(field, "")).strip():
                missing.append(f"{where}: no {field}")
        body = operation.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            schema = content.get("schema", {})
            # An optional body is `anyOf: [model, null]`: the model's example serves.
            branches = schema.get("anyOf") or [schema]
            targets = [_resolve(document, branch) for branch in branches]
            if not (
                content.get("example")
                or content.get("examples")
                or any(target.get("examples") for target in targets)
            ):
                missing.append(f"{where}: no example for its {media} body")
    assert not missing, "\n".join(missing)
    assert len(ids) == len(list(operations(document)))


def test_every_error_is_a_documented_problem(document: dict[str, Any]) -> None:
    codes = error_codes()
    wrong = []
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        errors = {int(s): r for s, r in responses.items() if s.isdigit() and int(s) >= 400}
        expected = set()
        if operation.get("security"):
            expected |= {401, 403}
        parameters = operation.get("parameters", [])
        if parameters or "requestBody" in operation:
            expected.add(422)
        if "requestBody" in operation:
            expected |= {400, 413}
        if any(p["in"] == "path" for p in parameters):
            expected.add(404)
        if route_group(path) is not None:
            expected.add(429)
        for status in sorted(expected - set(errors)):
            wrong.append(f"{where}: {status} not documented")
        for status, response in errors.items():
            content = response.get("content", {})
            if operation["operationId"] in OAUTH_ERRORS and "application/json" in content:
                continue
            if PROBLEM_MEDIA_TYPE not in content:
                wrong.append(f"{where}: {status} is not problem+json")
                continue
            schema = _resolve(document, content[PROBLEM_MEDIA_TYPE]["schema"])
            enum = schema["properties"]["code"].get("enum")
            if enum != codes.get(status):
                wrong.append(f"{where}: {status} codes {enum} != {codes.get(status)}")
    assert not wrong, "\n".join(wrong)


def test_kernel_headers_are_declared(document: dict[str, Any]) -> None:
    wrong = []
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        keyed = any(
            p["in"] == "header" and p["name"] == "Idempotency-Key"
            for p in operation.get("parameters", [])
        )
        if method == "post" and operation.get("security") and not keyed and path not in NOT_KEYED:
            wrong.append(f"{where}: an authenticated POST without Idempotency-Key")
        limited = route_group(path) is not None
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            if "X-Request-ID" not in headers:
                wrong.append(f"{where} {status}: no X-Request-ID")
            if limited and "RateLimit-Limit" not in headers:
                wrong.append(f"{where} {status}: no RateLimit-* headers")
            if status in ("429", "503") and "Retry-After" not in headers:
                wrong.append(f"{where} {status}: no Retry-After")
            if keyed and status.startswith("2") and "Idempotency-Replayed" not in headers:
                wrong.append(f"{where} {status}: no Idempotency-Replayed")
    assert not wrong, "\n".join(wrong)


def test_tags_all_have_operations(document: dict[str, Any]) -> None:
    used = {tag for _, _, operation in operations(document) for tag in operation["tags"]}
    assert {tag["name"] for tag in document["tags"]} == used


@pytest.mark.slow
def test_a_generated_client_has_every_operation(tmp_path: Path) -> None:
    """openapi-python-client builds a client from the committed document with no warning."""
    generator = Path(sys.executable).parent / "openapi-python-client"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))
    completed = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(COMMITTED),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(tmp_path / "client"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    generated = {p.stem for p in (tmp_path / "client" / "api").rglob("*.py")} - {"__init__"}
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert {op["operationId"] for _, _, op in operations(document)} <= generated


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)
