"""Request and response bodies of the messaging API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from moneyrail.core import limits

Channel = Literal["sms", "email"]
MessageStatus = Literal["queued", "sending", "sent", "delivered", "failed"]
Variables = dict[str, str | int | float | bool]


class SmsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164 number", examples=["+919812345678"]
    )
    body: str | None = Field(default=None, min_length=1, max_length=limits.message_body_chars_max)
    template: str | None = Field(default=None, description="Template id or name")
    variables: Variables = Field(default_factory=dict, max_length=limits.template_variables_max)

    @model_validator(mode="after")
    def _one_source(self) -> SmsCreate:
        if (self.body is None) == (self.template is None):
            raise ValueError("send exactly one of body or template")
        return self


class EmailCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: EmailStr
    subject: str | None = Field(
        default=None, min_length=1, max_length=limits.email_subject_chars_max
    )
    text: str | None = Field(default=None, max_length=limits.email_body_chars_max)
    html: str | None = Field(default=None, max_length=limits.email_body_chars_max)
    template: str | None = Field(default=None, description="Template id or name")
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


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
