"""Request plumbing shared by the bearer-key sandboxes (Paystack, Flutterwave, Chapa): the
account a secret key stands for, lenient body parsing, the authenticated endpoint wrapper,
background webhook delivery and the app assembly every sandbox repeats."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moneyrail.sandbox.state import (
    FaultMiddleware,
    SandboxState,
    bearer_token,
    deliver,
    hook_routes,
)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

Handler = Callable[[Request, str, str], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def account_of(key: str) -> str:
    """The account a secret key belongs to (a digest, so the key itself is never stored)."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(FORM_CONTENT_TYPE)


async def read_body(
    request: Request, loads: Callable[[bytes], Any] = json.loads
) -> dict[str, Any] | None:
    """The request's JSON object or form fields; `{}` when empty, None when unreadable."""
    raw = await request.body()
    if not raw:
        return {}
    if is_form(request):
        return dict((await request.form()).items())
    try:
        parsed = loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def bearer_api(
    key_pattern: re.Pattern[str], reject: Callable[[str | None], Response]
) -> Callable[[Handler], Endpoint]:
    """Wrap `handler(request, account, key)` so it runs only for a well-formed bearer key;
    otherwise `reject(key)` answers (key is None when no bearer key was sent)."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            key = bearer_token(request)
            if key is None or not key_pattern.match(key):
                return reject(key)
            return await handler(request, account_of(key), key)

        return endpoint

    return wrap


def deliver_later(
    state: SandboxState, url: str, *, headers: Mapping[str, str], body: bytes
) -> None:
    """POST a signed webhook in the background, as the provider does once an event happens."""
    task = asyncio.get_running_loop().create_task(deliver(url, headers=headers, body=body))
    state.extra.setdefault("deliveries", set()).add(task)
    task.add_done_callback(state.extra["deliveries"].discard)


def sandbox_app(
    sandbox: Any,
    routes: Sequence[BaseRoute],
    *,
    unavailable: Callable[[], Response],
) -> Starlette:
    """A sandbox's Starlette app: its routes, the common test hooks and the fault middleware;
    the sandbox object is reachable as `app.state.sandbox`."""
    state: SandboxState = sandbox.state
    app = Starlette(routes=[*routes, *hook_routes(state)])
    app.add_middleware(FaultMiddleware, state=state, unavailable=unavailable)
    app.state.sandbox = sandbox
    return app
