"""Token bodies: the token response, introspection and RFC 6749 errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


class IntrospectionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool


class OAuthErrorOut(BaseModel):
    """An OAuth 2.0 error (RFC 6749 §5.2), as the token endpoints answer them."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_scope",
        "unsupported_token_type",
    ]
    error_description: str | None = None
