"""The back office's permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

AdminRead = Annotated[AuthSubject, Depends(require(scope="admin:read"))]
AdminWrite = Annotated[AuthSubject, Depends(require(scope="admin:write"))]
AuditRead = Annotated[AuthSubject, Depends(require(scope="audit:read"))]
