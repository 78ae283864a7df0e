"""Field types shared by the request and response models, each carrying its rule in its schema.

The OpenAPI document is the contract: whatever a type's JSON schema allows, its validation
accepts. A rule the schema cannot state (a cross-field check) stays in a model validator and
is mirrored in that model's schema by hand where JSON Schema can say it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
)
from pydantic import EmailStr as _EmailStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from moneyrail.core import limits

# --- closed sets of strings -----------------------------------------------------------------


def str_enum(name: str, values: Iterable[str], description: str) -> type[StrEnum]:
    """A `StrEnum` built from data (ISO 4217 codes, scopes): one named schema component."""
    enum = StrEnum(name, {value: value for value in sorted(values)}, module=__name__)  # type: ignore[misc]
    enum.__doc__ = description
    return enum


class EnumString:
    """`Annotated[str, EnumString(SomeEnum)]`: validates to a plain `str` from the enum's values
    and shows the enum's component in request and response schemas alike. `normalize` maps the
    input first (for example to upper case); `message` words the error for a value not listed."""

    def __init__(
        self,
        enum: type[StrEnum],
        *,
        normalize: Callable[[str], str] | None = None,
        message: str = "{value!r} is not one of the accepted values",
    ) -> None:
        self.enum = enum
        self.values = frozenset(member.value for member in enum)
        self.normalize = normalize
        self.message = message

    def _parse(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(self.message.format(value=value))
        parsed = self.normalize(value) if self.normalize else value
        if parsed not in self.values:
            raise ValueError(self.message.format(value=value))
        return parsed

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        enum_schema = handler.generate_schema(self.enum)
        return core_schema.no_info_plain_validator_function(
            self._parse,
            json_schema_input_schema=enum_schema,
            serialization=core_schema.plain_serializer_function_ser_schema(
                self.enum, return_schema=enum_schema, when_used="json"
            ),
        )


# --- text -------------------------------------------------------------------------------------


def _case_insensitive(word: str) -> str:
    return "".join(f"[{char.lower()}{char.upper()}]" for char in word)


# email-validator refuses the special-use domains of RFC 6761 and friends; say so in the schema.
_SPECIAL_USE_TLDS = ("arpa", "invalid", "local", "localhost", "onion", "test")
EMAIL_PATTERN = (
    r"^[^@\s]+@(?!(?:[^@\s]*\.)?(?:"
    + "|".join(_case_insensitive(tld) for tld in _SPECIAL_USE_TLDS)
    + r")\.?$)[^@\s]+\.[^@\s.]{2,}$"
)
_EMAIL = TypeAdapter(_EmailStr)


def _email(value: str) -> str:
    return str(_EMAIL.validate_python(value))


Email = Annotated[
    str,
    Field(
        max_length=limits.email_length_max,
        # Look-ahead is beyond pydantic's regex engine: the pattern is the schema's account
        # of what email-validator (run below) accepts.
        json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN},
        examples=["priya@example.com"],
    ),
    AfterValidator(_email),
]

# A phone number in E.164 form: `+`, country code, subscriber number, at most 15 digits.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
PhoneE164 = Annotated[str, StringConstraints(pattern=E164_PATTERN)]

# A moneyrail id: `acct_` + 26 Crockford base32 characters (see core/ids.py), bounded like the
# id columns. Lookups of ids keep accepting any bounded string: an unknown id answers 404.
ID_PATTERN = r"^[a-z][a-z0-9]{1,11}_[0-9A-HJKMNP-TV-Z]{26}$"
IdRef = Annotated[str, StringConstraints(min_length=1, max_length=limits.id_length_max)]

# --- metadata ---------------------------------------------------------------------------------

MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=limits.metadata_key_length_max)
]

# --- decimals ---------------------------------------------------------------------------------


def _integer_part_pattern(maximum: int) -> str:
    """Integer parts 0..maximum-1 (maximum below 100), as a regular expression."""
    tens, units = divmod(maximum, 10)
    options = ["[0-9]"]
    if tens == 2:
        options.append("1[0-9]")
    elif tens > 2:
        options.append(f"[1-{tens - 1}][0-9]")
    if tens >= 1 and units >= 1:
        options.append(f"{tens}[0-{units - 1}]")
    return "(?:" + "|".join(options) + ")"


class Percent:
    """`Annotated[Decimal, Percent(60)]`: a percentage from 0 to `maximum` with at most
    `decimal_places` places. The schema is a decimal string (`"10.5"`) whose pattern holds
    the bounds; a JSON number is still accepted, read through its text."""

    def __init__(
        self, maximum: int, *, decimal_places: int = limits.percent_decimal_places_max
    ) -> None:
        if not 1 <= maximum < 100:
            raise ValueError("Percent takes a maximum from 1 to 99")
        self.maximum = maximum
        self.decimal_places = decimal_places
        fraction = f"(?:\\.[0-9]{{1,{decimal_places}}})?"
        whole = f"{maximum}(?:\\.0{{1,{decimal_places}}})?"
        self.pattern = f"^(?:{_integer_part_pattern(maximum)}{fraction}|{whole})$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            _decimal_input,
            core_schema.decimal_schema(
                ge=Decimal(0), le=Decimal(self.maximum), decimal_places=self.decimal_places
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": self.pattern,
            "description": f"A decimal string from 0 to {self.maximum}, with at most"
            f" {self.decimal_places} decimal places.",
            "examples": ["10.5"],
        }


def _decimal_input(value: Any) -> Any:
    # Read a JSON number through its text so 10.1 stays 10.1, not a binary approximation.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value
