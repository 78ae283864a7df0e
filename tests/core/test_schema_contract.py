"""The OpenAPI document as a contract: every JSON request body carries an example its own
schema accepts, component names are unique, and shared field types say what they validate."""

from __future__ import annotations

import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from moneyrail.core import limits
from moneyrail.core.money import Currency, CurrencyCode, MoneyModel, PositiveMoneyModel
from moneyrail.core.openapi import _operations
from moneyrail.core.settings import Environment, Settings
from moneyrail.core.types import EMAIL_PATTERN, Email, Percent
from moneyrail.main import create_app

DOCUMENT_URI = "urn:moneyrail:openapi"


@pytest.fixture(scope="module")
def app() -> Any:
    settings = Settings(
        environment=Environment.test,
        database_url="postgresql+asyncpg://contract@127.0.0.1:1/unused",
        secret_key="test-secret-key-0123456789abcdef0123456789",
        log_level="WARNING",
        data_dir=Path(tempfile.mkdtemp(prefix="moneyrail-test-")),
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return dict(app.openapi())


def _json_bodies(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    bodies = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                bodies.append((f"{method.upper()} {path}", content["application/json"]["schema"]))
    return bodies


def _examples(document: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """The schema's examples, or those of the component it names (`anyOf` with null too)."""
    if "examples" in schema:
        return list(schema["examples"])
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _examples(document, document["components"]["schemas"].get(name, {}))
    for branch in schema.get("anyOf", []):
        found = _examples(document, branch)
        if found:
            return found
    return []


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` whose `#/components/...` references resolve in the document."""
    contents = {**document, "x-body": schema}
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/x-body"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def test_every_json_request_body_has_an_example_its_schema_accepts(
    document: dict[str, Any],
) -> None:
    bodies = _json_bodies(document)
    assert len(bodies) > 40
    missing, invalid = [], []
    for operation, schema in bodies:
        if _unresolved(document, schema):
            continue  # test_every_request_body_reference_resolves
        examples = _examples(document, schema)
        if not examples:
            missing.append(operation)
            continue
        validator = _validator(document, schema)
        for example in examples:
            errors = [e.message for e in validator.iter_errors(example)]
            if errors:
                invalid.append(f"{operation}: {errors[:3]}")
    assert not missing, f"request bodies without an example: {missing}"
    assert not invalid, "examples their schema refuses:\n" + "\n".join(invalid)


def test_every_request_example_is_accepted_by_its_model(app: Any, document: dict[str, Any]) -> None:
    refused = []
    for path, method, route in _operations(app):
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        operation = document["paths"][path][method]
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        adapter: TypeAdapter[Any] = TypeAdapter(route.body_field.field_info.annotation)
        for example in _examples(document, content["application/json"]["schema"]):
            try:
                adapter.validate_python(example)
            except ValidationError as exc:
                refused.append(f"{method.upper()} {path}: {exc.errors()[:2]}")
    assert not refused, "examples the models refuse:\n" + "\n".join(refused)


def _unresolved(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    refs = re.findall(r"'\$ref': '#/components/schemas/([^']+)'", repr(schema))
    return [name for name in refs if name not in document["components"]["schemas"]]


def test_every_request_body_reference_resolves(document: dict[str, Any]) -> None:
    unresolved = {
        operation: names
        for operation, schema in _json_bodies(document)
        if (names := _unresolved(document, schema))
    }
    assert not unresolved


def test_component_names_are_plain_and_unique(document: dict[str, Any]) -> None:
    names = list(document["components"]["schemas"])
    assert not [n for n in names if "__" in n], "module-qualified names mean a name clash"
    assert "PaymentAttemptOut" in names and "WebhookAttemptOut" in names


def test_currency_is_one_component_listing_exactly_the_accepted_codes(
    document: dict[str, Any],
) -> None:
    component = document["components"]["schemas"]["Currency"]
    accepted = {member.value for member in Currency}
    assert set(component["enum"]) == accepted
    assert {"INR", "USD", "EUR", "JPY", "KWD"} <= accepted
    adapter: TypeAdapter[str] = TypeAdapter(CurrencyCode)
    assert adapter.validate_python("inr") == "INR"
    assert type(adapter.validate_python("USD")) is str
    for bad in ("ZZZ", "IN", "", 356):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    money = MoneyModel(amount=-5, currency="usd")
    assert money.model_dump() == {"amount": -5, "currency": "USD"}
    assert money.model_dump_json() == '{"amount":-5,"currency":"USD"}'


def test_amount_bounds_and_integral_numbers() -> None:
    schema = PositiveMoneyModel.model_json_schema()["properties"]["amount"]
    assert schema["minimum"] == 1 and schema["maximum"] == limits.amount_minor_max
    assert PositiveMoneyModel(amount=12.0, currency="INR").amount == 12  # type: ignore[arg-type]
    for bad in (0, 12.5, "12", True, limits.amount_minor_max + 1, float(2**53)):
        with pytest.raises(ValidationError):
            PositiveMoneyModel(amount=bad, currency="INR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0", True),
        ("10.5", True),
        ("59.9999", True),
        ("60", True),
        ("60.0000", True),
        ("60.0001", False),
        ("61", False),
        ("12.12345", False),
        ("-1", False),
    ],
)
def test_percent_pattern_matches_validation(value: str, ok: bool) -> None:
    adapter: TypeAdapter[Decimal] = TypeAdapter(Annotated[Decimal, Percent(60)])
    pattern = adapter.json_schema()["pattern"]
    assert bool(re.match(pattern, value)) is ok
    if ok:
        assert adapter.validate_python(value) == Decimal(value)
        assert adapter.validate_python(10.1) == Decimal("10.1")
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(
    "address", ["priya@example.com", "a@b.test", "a@x.LOCAL", "x@localhost", "no-at.example.com"]
)
def test_email_pattern_refuses_what_email_validator_refuses(address: str) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(Email)
    try:
        adapter.validate_python(address)
        accepted = True
    except ValidationError:
        accepted = False
    assert bool(re.match(EMAIL_PATTERN, address)) is accepted


def test_request_models_with_cross_field_rules_state_them(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    for name in (
        "BalanceLimitModel",
        "CreateSubscriptionIn",
        "SmsCreate",
        "EmailCreate",
        "TemplateCreate",
        "AccountOpen",
    ):
        assert "anyOf" in components[name], name
