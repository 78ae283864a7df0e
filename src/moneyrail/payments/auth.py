"""The payments API's permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

PaymentsRead = Annotated[AuthSubject, Depends(require(scope="payments:read"))]
PaymentsWrite = Annotated[AuthSubject, Depends(require(scope="payments:write"))]
ServicesRead = Annotated[AuthSubject, Depends(require(scope="services:read"))]
ServicesWrite = Annotated[AuthSubject, Depends(require(scope="services:write"))]
