"""Request and response bodies of bank branches."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
)

from moneyrail.banking.types import (
    BranchCode,
    Ifsc,
    Line,
    Name,
    Note,
    ReadModel,
    examples,
)


class BranchCreate(BaseModel):
    model_config = examples(
        {
            "code": "MUM01",
            "name": "Mumbai Fort",
            "ifsc": "MRBK0000001",
            "address": "12 Hamam Street, Fort",
            "city": "Mumbai",
            "state": "Maharashtra",
        }
    )

    code: BranchCode
    name: Line
    ifsc: Ifsc | None = None
    address: Note | None = None
    city: Name | None = None
    state: Name | None = None


class BranchOut(ReadModel):
    id: str
    code: str
    name: str
    ifsc: str | None
    address: str | None
    city: str | None
    state: str | None
    created_at: datetime
