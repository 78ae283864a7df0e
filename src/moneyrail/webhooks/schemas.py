"""Request and response bodies of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from moneyrail.core import limits

DeliveryStatus = Literal["pending", "processing", "delivered", "failed"]


EventType = Annotated[str, Field(min_length=1, max_length=limits.webhook_event_type_length_max)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.com/hooks/moneyrail",
                    "description": "Order service",
                    "event_types": ["payment.*", "refund.succeeded"],
                    "enabled": True,
                }
            ]
        },
    )

    url: str = Field(
        max_length=limits.webhook_url_length_max, examples=["https://example.com/hooks"]
    )
    description: str | None = Field(default=None, max_length=limits.webhook_description_length_max)
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=limits.webhook_event_types_per_endpoint_max,
        description="Event types or families (`payment.*`); empty means every event.",
    )
    enabled: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    url: str | None = Field(default=None, max_length=limits.webhook_url_length_max)
    description: str | None = Field(default=None, max_length=limits.webhook_description_length_max)
    event_types: list[EventType] | None = Field(
        default=None, max_length=limits.webhook_event_types_per_endpoint_max
    )
    enabled: bool | None = None


class RotateSecret(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"overlap_hours": 24}]}
    )

    overlap_hours: float | None = Field(
        default=None,
        ge=0,
        le=limits.webhook_secret_overlap_hours_max,
        description="How long the old secret keeps signing deliveries (default from settings).",
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until when deliveries also carry the old secret's signature."
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`); shown only once.")


class WebhookAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    latency_ms: float | None
    response_body: str | None
    error: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    attempts_allowed: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    attempt_log: list[WebhookAttemptOut]


class ProcessPending(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"include_failed": True}]}
    )

    include_failed: bool = Field(
        default=False, description="Also give dead-lettered deliveries one more attempt."
    )


class ProcessPendingOut(BaseModel):
    scheduled: int = Field(description="Deliveries made due now; the worker sends them next.")
