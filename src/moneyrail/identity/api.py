"""The identity API, one router: `/auth/*` (sign-in sessions and the OAuth 2.0 endpoints),
`/api-keys` and the published JWKS, each from its sub-domain."""

from __future__ import annotations

from fastapi import APIRouter

# Imported for its side effect too: identity's credential resolvers join the kernel.
from moneyrail.identity import lifecycle  # noqa: F401
from moneyrail.identity.keys import api as keys_api
from moneyrail.identity.oauth import api as oauth_api
from moneyrail.identity.sessions import api as sessions_api
from moneyrail.identity.tokens import api as tokens_api

router = APIRouter()
router.include_router(oauth_api.router)
router.include_router(sessions_api.router)
router.include_router(keys_api.router)
router.include_router(tokens_api.router)
