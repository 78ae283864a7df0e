"""What recording an intent before a provider call needs beyond the payment (design rule 6):
sessions of its own — never the request's — and the client's request. Built per request by
`payments.deps.recorder_of`; used by creation, captures and refunds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Recorder:
    """What the record needs beyond the payment: its own sessions and the client's request."""

    sessions: Callable[[], AsyncSession]
    key: str
    request_hash: str
    method: str
    path: str
