"""The published JWKS: the public keys that verify access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from moneyrail.identity.tokens.service import config_of

router = APIRouter()


@router.get(
    "/.well-known/jwks.json",
    tags=["identity"],
    summary="Public keys that verify access tokens (RS256; empty for HS256)",
)
async def jwks(request: Request) -> dict[str, Any]:
    """The JSON Web Key Set of the RS256 keys that verify access tokens, including keys of
    earlier rotations that still verify. Empty when tokens are signed with HS256."""
    return {"keys": config_of(request).public_jwks}
