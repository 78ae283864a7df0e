"""Core banking's permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

BankingRead = Annotated[AuthSubject, Depends(require(scope="banking:read"))]
BankingWrite = Annotated[AuthSubject, Depends(require(scope="banking:write"))]
BankingApprove = Annotated[AuthSubject, Depends(require(scope="banking:approve"))]
BankingAdmin = Annotated[AuthSubject, Depends(require(scope="banking:admin"))]
