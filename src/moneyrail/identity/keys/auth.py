"""API keys' permissions: one typed alias per scope their endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

ApiKeysRead = Annotated[AuthSubject, Depends(require(scope="api_keys:read"))]
ApiKeysWrite = Annotated[AuthSubject, Depends(require(scope="api_keys:write"))]
