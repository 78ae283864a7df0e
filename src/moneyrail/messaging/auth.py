"""Messaging's permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

MessagingRead = Annotated[AuthSubject, Depends(require(scope="messaging:read"))]
MessagingWrite = Annotated[AuthSubject, Depends(require(scope="messaging:write"))]
