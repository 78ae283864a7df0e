"""In-memory state and test hooks shared by the provider sandboxes.

Each sandbox app owns one `SandboxState`: its objects (scoped to the account whose
credentials created them, as on the real provider), its idempotency-key replays and the
faults a test asked for. Test hooks live under `HOOK_PREFIX`, a path no provider's real API
uses; the fault middleware never touches them.

Faults (`POST {HOOK_PREFIX}/faults`, JSON):
- `{"unavailable": n}`: the next n API requests answer 503 in the provider's error shape
  (ASGI cannot refuse a connection, so this stands in for an outage).
- `{"slow": n, "delay_seconds": s, "after": false}`: the next n API requests wait s seconds
  before being handled (`after: true`: handled first, then the answer is held back, the way
  a provider that acted but never answered looks to a client that timed out).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moneyrail.core import limits

HOOK_PREFIX = "/_sandbox"
ALPHANUMERIC = string.ascii_letters + string.digits
UPPER_ALPHANUMERIC = string.ascii_uppercase + string.digits

log = structlog.get_logger(__name__)


def new_id(prefix: str, length: int = 14, alphabet: str = ALPHANUMERIC) -> str:
    """A provider-style id: `prefix` followed by `length` random characters.

    One draw from the system's random source for the whole id (a uniform number below
    `len(alphabet) ** length`, written in that base), not one per character."""
    base = len(alphabet)
    number = secrets.randbelow(base**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, base)
        chars.append(alphabet[digit])
    return prefix + "".join(chars)


def fingerprint(payload: Any) -> str:
    """A stable hash of a parsed request body, to tell a replay from a reused key."""
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class SandboxError(Exception):
    """Raised by a sandbox handler to answer with the provider's own error shape."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


@dataclass
class Faults:
    unavailable: int = 0
    slow: int = 0
    delay_seconds: float = 0.0
    after: bool = False


@dataclass
class StoredResponse:
    fingerprint: str
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class SandboxState:
    """Objects by id (each with the account that owns it), idempotency replays and faults."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, str] = {}
        self.replays: dict[tuple[str, str], StoredResponse] = {}
        self.faults = Faults()
        self.extra: dict[str, Any] = {}

    def reset(self) -> None:
        self.objects.clear()
        self.owners.clear()
        self.replays.clear()
        self.faults = Faults()

    def put(self, obj_id: str, obj: dict[str, Any], *, owner: str) -> dict[str, Any]:
        if obj_id not in self.objects and len(self.objects) >= limits.sandbox_objects_max:
            oldest = next(iter(self.objects))
            self.objects.pop(oldest)
            self.owners.pop(oldest, None)
        self.objects[obj_id] = obj
        self.owners[obj_id] = owner
        return obj

    def get(self, obj_id: str, *, owner: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist or another account owns it."""
        obj = self.objects.get(obj_id)
        if obj is None or (owner is not None and self.owners.get(obj_id) != owner):
            return None
        return obj

    def owner_of(self, obj_id: str) -> str | None:
        return self.owners.get(obj_id)

    def replay(self, owner: str, key: str) -> StoredResponse | None:
        return self.replays.get((owner, key))

    def remember(self, owner: str, key: str, stored: StoredResponse) -> None:
        if len(self.replays) >= limits.sandbox_objects_max:
            self.replays.pop(next(iter(self.replays)))
        self.replays[(owner, key)] = stored


class FaultMiddleware:
    """Applies the requested faults to API requests (never to the test hooks)."""

    def __init__(
        self, app: ASGIApp, *, state: SandboxState, unavailable: Callable[[], Response]
    ) -> None:
        self.app = app
        self.state = state
        self.unavailable = unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope).startswith(HOOK_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.state.faults
        if faults.unavailable > 0:
            faults.unavailable -= 1
            await self.unavailable()(scope, receive, send)
            return
        if faults.slow > 0:
            faults.slow -= 1
            delay = faults.delay_seconds
            if not faults.after:
                await asyncio.sleep(delay)
                await self.app(scope, receive, send)
                return
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(delay)
            for message in held:
                await send(message)
            return
        await self.app(scope, receive, send)


def hook_routes(state: SandboxState) -> list[Route]:
    """`POST /_sandbox/faults` and `POST /_sandbox/reset`, common to every sandbox."""

    async def set_faults(request: Request) -> JSONResponse:
        body = await request.json() if await request.body() else {}
        try:
            unavailable = int(body.get("unavailable", 0))
            slow = int(body.get("slow", 0))
            delay = float(body.get("delay_seconds", limits.sandbox_delay_seconds_max))
        except (TypeError, ValueError):
            return JSONResponse({"error": "counts must be integers"}, status_code=400)
        if not (0 <= unavailable <= limits.sandbox_fault_requests_max):
            return JSONResponse({"error": "unavailable out of range"}, status_code=400)
        if not (0 <= slow <= limits.sandbox_fault_requests_max):
            return JSONResponse({"error": "slow out of range"}, status_code=400)
        if not (0 <= delay <= limits.sandbox_delay_seconds_max):
            return JSONResponse({"error": "delay_seconds out of range"}, status_code=400)
        state.faults = Faults(
            unavailable=unavailable, slow=slow, delay_seconds=delay, after=bool(body.get("after"))
        )
        return JSONResponse({"unavailable": unavailable, "slow": slow, "delay_seconds": delay})

    async def reset(_: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"reset": True})

    return [
        Route(f"{HOOK_PREFIX}/faults", set_faults, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/reset", reset, methods=["POST"]),
    ]


async def deliver(url: str, *, headers: Mapping[str, str], body: bytes) -> int | None:
    """POST a signed webhook to `url`; the receiver's status, or None when it was unreachable
    or the address is not one this request may make the sandbox post to (`guard`)."""
    from moneyrail.sandbox.guard import refused_target

    if (reason := refused_target(url)) is not None:
        log.info("sandbox.webhook_refused", reason=reason)
        return None
    try:
        async with httpx.AsyncClient(
            timeout=limits.sandbox_webhook_delivery_timeout_seconds, follow_redirects=False
        ) as client:
            response = await client.post(url, content=body, headers=dict(headers))
    except httpx.HTTPError as exc:
        log.info("sandbox.webhook_undelivered", url=url, error=type(exc).__name__)
        return None
    return response.status_code


async def signed_webhook_response(
    *,
    headers: Mapping[str, str],
    body: bytes,
    url: str | None,
    send: Callable[..., Awaitable[int | None]] = deliver,
) -> JSONResponse:
    """The hook's answer: the signed request (headers and the exact body) and, when a URL was
    given, the status the receiver answered with; 403 when the URL is not one the caller may
    make the sandbox post to (`guard.refused_target`)."""
    from moneyrail.sandbox.guard import refused_target

    if url and (reason := refused_target(str(url))) is not None:
        return JSONResponse({"error": reason}, status_code=403)
    delivered = await send(url, headers=headers, body=body) if url else None
    return JSONResponse(
        {"headers": dict(headers), "body": body.decode(), "url": url, "delivered_status": delivered}
    )


def route_path(scope: Scope) -> str:
    """The path inside this app (Starlette keeps the full path and the mount's root_path)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """`Authorization: Basic` user and password, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def mount_url(request: Request) -> str:
    """This sandbox's own base URL as the client reached it (including where it is mounted),
    for the links it hands out (approval pages, certificate URLs)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root}"
