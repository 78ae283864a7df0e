"""Request and response bodies of the messaging API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from moneyrail.core import limits
from moneyrail.core.types import E164_PATTERN, Email

Channel = Literal["sms", "email"]
MessageStatus = Literal["queued", "sending", "sent", "delivered", "failed"]
VariableName = Annotated[str, Field(min_length=1, max_length=limits.metadata_key_length_max)]
VariableValue = Annotated[str, Field(max_length=limits.message_body_chars_max)] | int | float | bool
Variables = dict[VariableName, VariableValue]
TemplateRef = Annotated[
    str,
    Field(
        min_length=1, max_length=limits.template_name_length_max, description="Template id or name"
    ),
]


def _exactly_one(first: str, second: str, example: JsonDict) -> Callable[[JsonDict], None]:
    def extra(schema: JsonDict) -> None:
        schema["anyOf"] = [
            {
                "required": [first],
                "properties": {first: {"type": "string"}, second: {"type": "null"}},
            },
            {
                "required": [second],
                "properties": {second: {"type": "string"}, first: {"type": "null"}},
            },
        ]
        schema["examples"] = [example]

    return extra


class SmsCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_exactly_one(
            "body",
            "template",
            {
                "to": "+15005550006",
                "body": "Your moneyrail code is 482913. It expires in 5 minutes.",
            },
        ),
    )

    to: str = Field(pattern=E164_PATTERN, description="E.164 number", examples=["+919812345678"])
    body: str | None = Field(default=None, min_length=1, max_length=limits.message_body_chars_max)
    template: TemplateRef | None = None
    variables: Variables = Field(default_factory=dict, max_length=limits.template_variables_max)

    @model_validator(mode="after")
    def _one_source(self) -> SmsCreate:
        if (self.body is None) == (self.template is None):
            raise ValueError("send exactly one of body or template")
        return self


def _email_source_schema(schema: JsonDict) -> None:
    # `_one_source` below, in the schema: a template alone, or a subject and text or html.
    none: JsonDict = {"type": "null"}
    text: JsonDict = {"type": "string"}
    schema["anyOf"] = [
        {"required": ["template"], "properties": {"template": text, "text": none, "html": none}},
        {
            "required": ["subject", "text"],
            "properties": {"template": none, "subject": text, "text": text},
        },
        {
            "required": ["subject", "html"],
            "properties": {"template": none, "subject": text, "html": text},
        },
    ]
    schema["examples"] = [
        {
            "to": "priya@example.com",
            "subject": "Your statement is ready",
            "text": "Hello Priya, your March statement is ready to download.",
        }
    ]


class EmailCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_email_source_schema)

    to: Email
    subject: str | None = Field(
        default=None, min_length=1, max_length=limits.email_subject_chars_max
    )
    text: str | None = Field(default=None, max_length=limits.email_body_chars_max)
    html: str | None = Field(default=None, max_length=limits.email_body_chars_max)
    template: TemplateRef | None = None
    variables: Variables = Field(default_factory=dict, max_length=limits.template_variables_max)

    @model_validator(mode="after")
    def _one_source(self) -> EmailCreate:
        if self.template is None:
            if self.subject is None or (self.text is None and self.html is None):
                raise ValueError("send subject and text or html, or a template")
        elif self.text is not None or self.html is not None:
            raise ValueError("send either a template or text/html, not both")
        return self


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    channel: Channel
    to: str
    status: MessageStatus
    environment: Literal["test", "live"]
    provider: str | None
    provider_message_id: str | None
    template_id: str | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


def _template_shape_schema(schema: JsonDict) -> None:
    # `_shape` below, in the schema.
    none: JsonDict = {"type": "null"}
    text: JsonDict = {"type": "string", "minLength": 1}
    email: JsonDict = {"const": "email"}
    schema["anyOf"] = [
        {
            "required": ["channel", "text"],
            "properties": {
                "channel": {"const": "sms"},
                "text": text,
                "html": none,
                "subject": none,
            },
        },
        {
            "required": ["channel", "subject", "text"],
            "properties": {"channel": email, "subject": text, "text": text},
        },
        {
            "required": ["channel", "subject", "html"],
            "properties": {"channel": email, "subject": text, "html": text},
        },
    ]
    schema["examples"] = [
        {
            "name": "otp_sms",
            "channel": "sms",
            "text": "Your {{ brand }} code is {{ code }}. It expires in 5 minutes.",
        }
    ]


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_template_shape_schema)

    name: str = Field(
        min_length=1, max_length=limits.template_name_length_max, pattern=r"^[A-Za-z0-9_.\-]+$"
    )
    channel: Channel
    subject: str | None = Field(default=None, max_length=limits.email_subject_chars_max)
    text: str | None = Field(default=None, max_length=limits.template_body_chars_max)
    html: str | None = Field(default=None, max_length=limits.template_body_chars_max)

    @model_validator(mode="after")
    def _shape(self) -> TemplateCreate:
        if self.channel == "sms" and (not self.text or self.html or self.subject):
            raise ValueError("an sms template has text only")
        if self.channel == "email" and (not self.subject or not (self.text or self.html)):
            raise ValueError("an email template has a subject and text or html")
        return self


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    channel: Channel
    subject: str | None
    text: str | None
    html: str | None
    variables: list[str]
    created_at: datetime
