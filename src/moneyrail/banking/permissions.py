"""Who may do what in banking: one typed dependency per permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.identity.deps import require
from moneyrail.identity.subject import AuthSubject

# Viewers read; operators (tellers) open accounts and move cash; admins approve loans and
# change statuses.
BankingRead = Annotated[AuthSubject, Depends(require(scope="banking:read"))]
BankingWrite = Annotated[AuthSubject, Depends(require(scope="banking:write"))]
BankingApprove = Annotated[AuthSubject, Depends(require(scope="banking:approve"))]
BankingAdmin = Annotated[AuthSubject, Depends(require(scope="banking:admin"))]
