"""The ledger's permissions: one typed alias per scope its endpoints demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

LedgerRead = Annotated[AuthSubject, Depends(require(scope="ledger:read"))]
LedgerWrite = Annotated[AuthSubject, Depends(require(scope="ledger:write"))]
LedgerAdmin = Annotated[AuthSubject, Depends(require(scope="ledger:admin"))]
