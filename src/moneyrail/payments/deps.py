"""Request-side plumbing of the payments API: the provider runtime of this process.

Tests and the in-process development mode put an ASGI transport to the mounted sandboxes on
`app.state.provider_transport` (see `payments.lifecycle`); it is used for test mode only.
`app.state.provider_deadline_seconds` may shorten the provider-call deadline (tests).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from moneyrail.core.db import database_of
from moneyrail.core.idempotency import HEADER, request_fingerprint
from moneyrail.core.settings import Settings
from moneyrail.payments.providers import ProviderRuntime
from moneyrail.payments.recorder import Recorder


async def runtime_of(request: Request) -> ProviderRuntime:
    # A coroutine, so FastAPI calls it in the request's task instead of a worker thread.
    state = request.app.state
    transport = getattr(state, "provider_transport", None)
    deadline = getattr(state, "provider_deadline_seconds", None)
    cached: ProviderRuntime | None = getattr(state, "payments_runtime", None)
    if (
        cached is None
        or cached.sandbox_transport is not transport
        or (deadline is not None and cached.deadline_seconds != deadline)
    ):
        settings: Settings = state.settings
        cached = ProviderRuntime.from_settings(
            settings, sandbox_transport=transport, deadline_seconds=deadline
        )
        state.payments_runtime = cached
    return cached


Runtime = Annotated[ProviderRuntime, Depends(runtime_of)]


async def recorder_of(request: Request) -> Recorder:
    """What a call that moves money needs to commit its record before the provider call
    (design rule 6): sessions of its own — the test's factory when one is substituted, else
    the app's database — and the client's key and request hash, as `core.idempotency`
    computes them."""
    factory = getattr(request.app.state, "session_factory", None)
    path = request.url.path
    return Recorder(
        sessions=factory or database_of(request).sessionmaker,
        key=request.headers.get(HEADER, ""),
        request_hash=request_fingerprint(request.method, path, await request.body()),
        method=request.method,
        path=path,
    )


CallRecorder = Annotated[Recorder, Depends(recorder_of)]
