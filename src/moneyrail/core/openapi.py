"""The OpenAPI document as the contract: what it documents is what the server does.

FastAPI generates the operations from the routes; this module completes each operation with
what the kernel adds around every endpoint, derived from the route itself rather than
written by hand at each one:

* a readable, stable operation id (`<tag>_<endpoint name>`, the method name of a generated
  client);
* the problem+json failures the kernel can produce for it (validation, authentication,
  permissions, idempotency, rate limits, body limits, an unreachable database), each with
  `code` as an enum of the stable codes of that status;
* the headers the kernel sends: `X-Request-ID` always, `RateLimit-*` and `Retry-After` on
  rate-limited routes, `Idempotency-Replayed` on idempotent ones.

The committed `openapi.json` at the repository root is this document; a test keeps the two
equal, so every contract change shows in review.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from moneyrail.core.errors import _STATUS_CODES, PROBLEM_MEDIA_TYPE, AppError

JSON = dict[str, Any]

# Codes the kernel answers without an `AppError` subclass (handlers and middleware).
_KERNEL_CODES: dict[int, set[str]] = {
    400: {"bad_request"},
    404: {"not_found"},
    409: {"conflict"},
    413: {"payload_too_large"},
    422: {"validation_error"},
    429: {"rate_limited"},
    503: {"database_unavailable", "service_unavailable"},
}

# One component per status, named as a generated client would want to read it.
_PROBLEM_NAMES: dict[int, str] = {
    400: "BadRequestProblem",
    401: "UnauthorizedProblem",
    403: "ForbiddenProblem",
    404: "NotFoundProblem",
    409: "ConflictProblem",
    413: "PayloadTooLargeProblem",
    422: "ValidationProblem",
    429: "RateLimitedProblem",
    502: "BadGatewayProblem",
    503: "ServiceUnavailableProblem",
    504: "GatewayTimeoutProblem",
}

_HEADERS: dict[str, JSON] = {
    "X-Request-ID": {
        "description": "The request's id (the one sent, when valid, or a new one); quote it "
        "when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "maxLength": 128},
    },
    "RateLimit-Limit": {
        "description": "Requests allowed in the current window (absent when rate limits are "
        "switched off).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Idempotency-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

_FIELD_ERROR: JSON = {
    "type": "object",
    "title": "FieldError",
    "description": "One invalid field of a request",
    "required": ["field", "location", "message", "type"],
    "properties": {
        "field": {"type": "string", "description": "Dotted path of the field"},
        "location": {"type": "string", "description": "body, query, path or header"},
        "message": {"type": "string"},
        "type": {"type": "string", "description": "Machine-readable kind of error"},
    },
}

_RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_CURSOR_PARAMETERS = frozenset({"cursor"})

# Operation ids are the method names of generated clients: they must stay readable.
_OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]{2,80}$")


_COMPONENT_MODELS: list[type[BaseModel]] = []


def component(model: type[BaseModel]) -> type[BaseModel]:
    """Put `model`'s schema into `components/schemas` (for a body described through
    `openapi_extra`, which FastAPI does not collect). Usable as a class decorator."""
    if model not in _COMPONENT_MODELS:
        _COMPONENT_MODELS.append(model)
    return model


def component_ref(model: type[BaseModel]) -> JSON:
    """A `$ref` to `model`'s component (registering it)."""
    component(model)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def error_codes() -> dict[int, list[str]]:
    """Every stable problem code the server can answer, by HTTP status."""
    codes: dict[int, set[str]] = {status: set(found) for status, found in _KERNEL_CODES.items()}
    for status, code in _STATUS_CODES.items():
        codes.setdefault(status, set()).add(code)
    for error in _subclasses(AppError):
        codes.setdefault(int(error.status), set()).add(error.code)
    return {status: sorted(found) for status, found in sorted(codes.items())}


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def build(
    app: FastAPI,
    *,
    authenticated: Callable[[APIRoute], bool],
    idempotent: Callable[[APIRoute], bool],
    rate_limited: Callable[[str], bool],
    uses_database: Callable[[APIRoute], bool],
    security_schemes: dict[str, JSON],
) -> JSON:
    """The application's OpenAPI document with the kernel's behaviour declared."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(security_schemes)
    components["headers"] = copy.deepcopy(_HEADERS)
    codes = error_codes()
    problem_schemas = components.setdefault("schemas", {})
    problem_schemas["Problem"] = _problem_schema(None)
    problem_schemas["FieldError"] = _FIELD_ERROR
    for model in _COMPONENT_MODELS:
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            problem_schemas.setdefault(name, definition)
        problem_schemas.setdefault(model.__name__, model_schema)
    requirement: list[dict[str, list[str]]] = [{name: []} for name in security_schemes]
    seen_ids: dict[str, str] = {}
    used_tags: set[str] = set()

    for path, method, route in _operations(app):
        operation = schema["paths"][path][method]
        tag = (route.tags or [path.split("/")[3] if path.count("/") >= 3 else "api"])[0]
        operation["tags"] = [tag]
        used_tags.add(str(tag))
        operation_id = f"{tag}_{route.name}".lower()
        if not _OPERATION_ID.match(operation_id) or operation_id in seen_ids:
            raise RuntimeError(
                f"operation id {operation_id!r} of {method.upper()} {path} is not unique "
                f"or not readable (also {seen_ids.get(operation_id)})"
            )
        seen_ids[operation_id] = f"{method.upper()} {path}"
        operation["operationId"] = operation_id

        is_authenticated = authenticated(route)
        if is_authenticated:
            operation.setdefault("security", requirement)
        is_authenticated = is_authenticated or bool(operation.get("security"))
        is_idempotent = idempotent(route) or _has_header(operation, "Idempotency-Key")
        limited = rate_limited(path)
        statuses = _error_statuses(
            operation,
            route,
            authenticated=is_authenticated,
            idempotent=is_idempotent,
            limited=limited,
            database=uses_database(route),
        )
        _document(operation, statuses, idempotent=is_idempotent, limited=limited)

    for status in sorted(
        {int(s) for item in _all_operations(schema) for s in item["responses"] if s.isdigit()}
    ):
        if status in _PROBLEM_NAMES:
            problem_schemas[_PROBLEM_NAMES[status]] = _problem_schema(status, codes.get(status))
    for unused in ("HTTPValidationError", "ValidationError"):
        problem_schemas.pop(unused, None)
    schema["tags"] = [tag for tag in schema.get("tags", []) if tag["name"] in used_tags]
    return schema


def _operations(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            yield str(context.path_format), method.lower(), route


def _all_operations(schema: JSON) -> Iterable[JSON]:
    for item in schema.get("paths", {}).values():
        yield from (op for method, op in item.items() if method != "parameters")


def _has_header(operation: JSON, name: str) -> bool:
    return any(
        p.get("in") == "header" and p.get("name", "").lower() == name.lower()
        for p in operation.get("parameters", [])
    )


def _error_statuses(
    operation: JSON,
    route: APIRoute,
    *,
    authenticated: bool,
    idempotent: bool,
    limited: bool,
    database: bool,
) -> set[int]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = {int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400}
    if parameters or has_body:
        statuses.add(422)
    if has_body:
        statuses |= {400, 413}
    if idempotent:
        statuses |= {400, 409, 422}
    if any(p.get("in") == "query" and p.get("name") in _CURSOR_PARAMETERS for p in parameters):
        statuses.add(400)
    if authenticated:
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if limited:
        statuses.add(429)
    if database:
        statuses.add(503)
    return statuses


def _document(operation: JSON, statuses: set[int], *, idempotent: bool, limited: bool) -> None:
    responses: JSON = operation.setdefault("responses", {})
    for status in sorted(statuses):
        current = responses.get(str(status))
        name = _PROBLEM_NAMES.get(status)
        if name is None:
            continue
        problem = {"schema": {"$ref": f"#/components/schemas/{name}"}}
        if current is not None and not _is_problem(current):
            # An operation that answers its own format (OAuth errors) keeps it; the kernel's
            # failures of the same status (body limits, hostile JSON) stay problem+json.
            current["content"][PROBLEM_MEDIA_TYPE] = problem
            continue
        description = (current or {}).get("description") or HTTPStatus(status).phrase
        if description == "Validation Error":
            description = "The request is not valid; `errors` lists every bad field"
        responses[str(status)] = {
            "description": description,
            "content": {PROBLEM_MEDIA_TYPE: problem},
        }
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if limited:
            for name in _RATE_HEADERS:
                headers[name] = {"$ref": f"#/components/headers/{name}"}
        if code in ("429", "503"):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if idempotent and code.startswith("2"):
            headers["Idempotency-Replayed"] = {"$ref": "#/components/headers/Idempotency-Replayed"}


def _is_problem(response: JSON) -> bool:
    content = response.get("content")
    if not content:
        return True
    if PROBLEM_MEDIA_TYPE in content:
        return True
    if PROBLEM_MEDIA_TYPE in content:
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError") or not schema


def _problem_schema(status: int | None, codes: list[str] | None = None) -> JSON:
    code: JSON = {"type": "string", "description": "Stable machine-readable error code"}
    if codes:
        code["enum"] = codes
    status_schema: JSON = {"type": "integer"}
    if status is not None:
        status_schema["enum"] = [status]
    return {
        "type": "object",
        "title": _PROBLEM_NAMES.get(status or 0, "Problem"),
        "description": "RFC 9457 problem details"
        + (f" of a {status} {HTTPStatus(status).phrase} answer" if status else ""),
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the problem type"},
            "title": {"type": "string"},
            "status": status_schema,
            "detail": {"type": "string"},
            "code": code,
            "request_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "errors": {
                "type": "array",
                "description": "Every invalid field (validation problems)",
                "items": {"$ref": "#/components/schemas/FieldError"},
            },
        },
    }
