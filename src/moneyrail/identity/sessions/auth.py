"""Sessions' permissions (endpoints that only need a valid credential take the kernel's
`Authenticated`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from moneyrail.auth.deps import require
from moneyrail.auth.subject import AuthSubject

ProfileWrite = Annotated[AuthSubject, Depends(require(scope="profile:write"))]
