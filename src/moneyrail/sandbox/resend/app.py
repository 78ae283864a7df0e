"""Resend's e-mail API in memory, with Svix-signed delivery events.

Wire format as Resend's: `POST /emails` JSON `{from, to, subject, html|text, …}` with
`Authorization: Bearer re_…` (the key is the account), answered 200 `{id}` (a UUID);
`GET /emails/{id}` answers `{object: "email", id, to, from, subject, html, text,
created_at, last_event}`; errors as `{statusCode, name, message}`. An `Idempotency-Key`
replays the first answer.

After sending, `email.sent` then `email.delivered` (`email.bounced` for recipients at
`bounce.example`) are POSTed to the account's webhook — registered with the test hook
`POST /_sandbox/webhooks` `{"url", "secret"}` — as `{type, created_at, data: {email_id,
from, to, subject, created_at}}` signed with `svix-id`, `svix-timestamp`, `svix-signature`.
`GET /_sandbox/events` lists what was sent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moneyrail.sandbox.guard import refused_target
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    FaultMiddleware,
    SandboxState,
    StoredResponse,
    bearer_token,
    deliver,
    fingerprint,
    hook_routes,
)

EVENT_STEP_SECONDS = 0.05
EVENTS_KEPT_MAX = 1_000


def resend_error(status: int, name: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"statusCode": status, "name": name, "message": message}, status_code=status
    )


class ResendSandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.webhooks: dict[str, tuple[str, str]] = {}  # api key -> (url, secret)
        self.default_webhook: tuple[str, str] | None = None
        self.events: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, request: Request) -> Response:
        key = bearer_token(request)
        if not key:
            return resend_error(
                401, "missing_api_key", "Missing API key in the authorization header."
            )
        if not key.startswith("re_"):
            return resend_error(403, "invalid_api_key", "API key is invalid")
        try:
            body = await request.json()
        except ValueError:
            return resend_error(422, "validation_error", "Invalid JSON body")
        idem = request.headers.get("idempotency-key")
        if idem and (stored := self.state.replay(key, idem)) is not None:
            if stored.fingerprint != fingerprint(body):
                return resend_error(
                    409,
                    "invalid_idempotent_request",
                    "Same idempotency key used with a different request payload.",
                )
            return JSONResponse(stored.body, status_code=stored.status)
        for field in ("from", "to", "subject"):
            if not body.get(field):
                return resend_error(422, "missing_required_field", f"Missing `{field}` field.")
        if not (body.get("html") or body.get("text")):
            return resend_error(422, "validation_error", "Missing `html` or `text` field.")
        to = body["to"] if isinstance(body["to"], list) else [body["to"]]
        email_id = str(uuid.uuid4())
        created = datetime.now(UTC).isoformat()
        email = {
            "object": "email",
            "id": email_id,
            "to": to,
            "from": body["from"],
            "created_at": created,
            "subject": body["subject"],
            "html": body.get("html"),
            "text": body.get("text"),
            "bcc": body.get("bcc"),
            "cc": body.get("cc"),
            "reply_to": body.get("reply_to"),
            "last_event": "sent",
        }
        self.state.put(email_id, email, owner=key)
        answer = {"id": email_id}
        if idem:
            self.state.remember(key, idem, StoredResponse(fingerprint(body), 200, answer))
        hook = self.webhooks.get(key) or self.default_webhook
        if hook is not None:
            bounced = any(str(r).endswith("@bounce.example") for r in to)
            steps = ["email.sent", "email.bounced" if bounced else "email.delivered"]
            task = asyncio.create_task(self._emit(email, steps, *hook))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return JSONResponse(answer)

    async def get(self, request: Request) -> Response:
        key = bearer_token(request)
        if not key:
            return resend_error(
                401, "missing_api_key", "Missing API key in the authorization header."
            )
        email = self.state.get(request.path_params["id"], owner=key)
        if email is None:
            return resend_error(404, "not_found", "Email not found")
        return JSONResponse(email)

    async def _emit(self, email: dict[str, Any], steps: list[str], url: str, secret: str) -> None:
        for event_type in steps:
            await asyncio.sleep(EVENT_STEP_SECONDS)
            email["last_event"] = event_type.split(".", 1)[1]
            event = {
                "type": event_type,
                "created_at": datetime.now(UTC).isoformat(),
                "data": {
                    "email_id": email["id"],
                    "from": email["from"],
                    "to": email["to"],
                    "subject": email["subject"],
                    "created_at": email["created_at"],
                },
            }
            body = json.dumps(event, separators=(",", ":"))
            msg_id = "msg_" + uuid.uuid4().hex
            now = datetime.now(UTC)
            headers = {
                "svix-id": msg_id,
                "svix-timestamp": str(int(now.timestamp())),
                "svix-signature": Webhook(secret).sign(msg_id, now, body),
                "content-type": "application/json",
            }
            record: dict[str, Any] = {
                "url": url,
                "headers": headers,
                "body": body,
                "delivered_status": None,
            }
            if len(self.events) >= EVENTS_KEPT_MAX:
                self.events.pop(0)
            self.events.append(record)
            record["delivered_status"] = await deliver(url, headers=headers, body=body.encode())

    async def set_webhook(self, request: Request) -> Response:
        body = await request.json()
        url, secret = body.get("url"), body.get("secret")
        if not url or not str(secret or "").startswith("whsec_"):
            return JSONResponse({"error": "url and a whsec_ secret are required"}, status_code=400)
        if (reason := refused_target(str(url))) is not None:
            return JSONResponse({"error": reason}, status_code=403)
        if body.get("api_key"):
            self.webhooks[str(body["api_key"])] = (str(url), str(secret))
        else:
            self.default_webhook = (str(url), str(secret))
        return JSONResponse({"url": url})

    async def list_events(self, _: Request) -> Response:
        return JSONResponse({"events": self.events})


def create_app() -> Starlette:
    state = SandboxState()
    sandbox = ResendSandbox(state)
    routes = [
        Route("/emails", sandbox.send, methods=["POST"]),
        Route("/emails/{id}", sandbox.get, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/webhooks", sandbox.set_webhook, methods=["POST"]),
        Route(f"{HOOK_PREFIX}/events", sandbox.list_events, methods=["GET"]),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return resend_error(503, "application_error", "Service unavailable")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
    app.state.sandbox = sandbox
    return app
