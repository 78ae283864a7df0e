"""ASGI middleware: request ids, access logs, request metrics and the request body limit."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moneyrail.core import limits, metrics

log = structlog.get_logger("moneyrail.http")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_UNMATCHED_ROUTE = "unmatched"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            candidate = str(value.decode("latin-1"))
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/ledger/accounts/{account_id}`), never the raw path.

    Routers may be nested, in which case the route only knows its own part of the template;
    the static prefix before it is recovered from the request path.
    """
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    regex = getattr(route, "path_regex", None)
    if not isinstance(path_format, str) or regex is None:
        return _UNMATCHED_ROUTE
    path: str = scope.get("path", "")
    start = 0
    while start != -1:
        if regex.match(path[start:]):
            return path[:start] + path_format
        start = path.find("/", start + 1)
    return path_format


class PayloadTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), logs it and records its metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_bytes_max: int = limits.request_body_bytes_max,
        headers_for: Callable[[str], list[tuple[bytes, bytes]]] | None = None,
    ) -> None:
        self.app = app
        self.body_bytes_max = body_bytes_max
        # Headers every response carries, by path (the security headers): added in the same
        # send wrapper as the request id, one middleware layer fewer per request.
        self.headers_for = headers_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}
        received = 0
        extra = self.headers_for(scope.get("path", "")) if self.headers_for else ()

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.body_bytes_max:
                    raise PayloadTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                if extra:
                    # A header the app set itself wins.
                    present = {name.lower() for name, _ in headers}
                    headers.extend(pair for pair in extra if pair[0] not in present)
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if self._declared_length(scope) > self.body_bytes_max:
                await self._too_large(send_with_id, request_id)
            else:
                try:
                    await self.app(scope, limited_receive, send_with_id)
                except PayloadTooLarge:
                    await self._too_large(send_with_id, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            status = str(status_holder["status"])
            method = scope["method"]
            metrics.http_requests.labels(method, route, status).inc()
            metrics.http_request_duration.labels(method, route, status).observe(elapsed)
            log.info(
                "http.request",
                method=method,
                route=route,
                path=scope["path"],
                status=status_holder["status"],
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    async def _too_large(self, send: Send, request_id: str) -> None:
        import json

        body = json.dumps(
            {
                "type": "https://moneyrail.dev/problems/payload_too_large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.body_bytes_max} bytes",
                "code": "payload_too_large",
                "request_id": request_id,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
