"""OAuth 2.0 error types (RFC 6749 §5.2) and token response shapes.

The token endpoint answers these as `{"error": ..., "error_description": ...}` with
`Cache-Control: no-store`; elsewhere they render as problem+json like any AppError.
"""

from __future__ import annotations

from dataclasses import dataclass

from moneyrail.core.errors import AppError


class OAuthError(AppError):
    code = "invalid_request"
    status = 400
    title = "Invalid token request"
    # Failures whose writes (failed-login counters, lockouts, family revocation, audit rows)
    # must be committed although the request fails.
    keep_writes = True


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClient(OAuthError):
    code = "invalid_client"
    status = 401
    title = "Client authentication failed"


class InvalidGrant(OAuthError):
    code = "invalid_grant"
    title = "Invalid grant"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"
    title = "Unsupported grant type"


class InvalidScope(OAuthError):
    code = "invalid_scope"
    title = "Invalid scope"


class UnsupportedTokenType(OAuthError):
    code = "unsupported_token_type"
    title = "Unsupported token type"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type
