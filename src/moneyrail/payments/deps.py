"""Request-side plumbing of the payments API: the provider runtime of this process.

Tests and the in-process development mode put an ASGI transport to the mounted sandboxes on
`app.state.provider_transport` (see `payments.lifecycle`); it is used for test mode only.
`app.state.provider_deadline_seconds` may shorten the provider-call deadline (tests).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from moneyrail.core.settings import Settings
from moneyrail.payments.providers import ProviderRuntime


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
