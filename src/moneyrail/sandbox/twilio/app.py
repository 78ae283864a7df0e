"""Twilio's Messages API in memory, with signed status callbacks.

Wire format as Twilio's: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form body
`To`, `From`, `Body`, optional `StatusCallback`; HTTP Basic `AccountSid:AuthToken` (the
first token seen for an account is bound to it; another is then refused); answers 201 with
the Message resource (`sid` "SM…", `status` "queued", RFC 2822 dates); errors as
`{code, message, more_info, status}`. `GET …/Messages/{Sid}.json` fetches one.

After answering, the message moves queued → sent → delivered and each step is POSTed to its
`StatusCallback` as a form (`MessageSid`, `MessageStatus`, `AccountSid`, `From`, `To`,
`ApiVersion`, `SmsSid`, `SmsStatus`) signed with `X-Twilio-Signature` (base64 HMAC-SHA1 of
the URL plus the sorted parameters, keyed with the account's auth token).

Twilio's magic test numbers: To `+15005550001` → 21211 (invalid number), `+15005550009` →
21614 (not SMS-capable); sandbox addition: `+15005550002` is sent then `undelivered` (30003).
Test hooks: `GET /_sandbox/callbacks` lists the callbacks sent (url, params, signature);
`POST /_sandbox/messages/{sid}/status` `{"status": …}` sends one more callback.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moneyrail.connectors.twilio import API_VERSION, SIGNATURE_HEADER, compute_signature
from moneyrail.core import limits
from moneyrail.sandbox.guard import refused_target
from moneyrail.sandbox.state import (
    HOOK_PREFIX,
    FaultMiddleware,
    SandboxState,
    basic_credentials,
    deliver,
    hook_routes,
)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CALLBACK_STEP_SECONDS = 0.05
CALLBACKS_KEPT_MAX = 1_000


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


class TwilioSandbox:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.tokens: dict[str, str] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def _auth(self, request: Request, account_sid: str) -> Response | None:
        creds = basic_credentials(request)
        if creds is None or creds[0] != account_sid or not account_sid.startswith("AC"):
            return twilio_error(401, 20003, "Authenticate")
        bound = self.tokens.setdefault(account_sid, creds[1])
        if not secrets.compare_digest(bound, creds[1]):
            return twilio_error(401, 20003, "Authenticate")
        return None

    async def create(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if (denied := self._auth(request, account_sid)) is not None:
            return denied
        form = {k: str(v) for k, v in (await request.form()).items()}
        to, sender, body = form.get("To", ""), form.get("From"), form.get("Body")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to) or to == "+15005550001":
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to == "+15005550009":
            return twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if not sender:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        sid = "SM" + hashlib.md5(secrets.token_bytes(16), usedforsecurity=False).hexdigest()
        now = formatdate(usegmt=True)
        message = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(body) // 160))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"
            },
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }
        self.state.put(sid, message, owner=account_sid)
        callback = form.get("StatusCallback")
        if callback:
            final = ["sent", "undelivered"] if to == "+15005550002" else ["sent", "delivered"]
            task = asyncio.create_task(self._progress(sid, callback, final))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return JSONResponse(message, status_code=201)

    async def fetch(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if (denied := self._auth(request, account_sid)) is not None:
            return denied
        message = self.state.get(request.path_params["sid"], owner=account_sid)
        if message is None:
            return twilio_error(
                404,
                20404,
                f"The requested resource /{API_VERSION}/Accounts/{account_sid}/"
                f"Messages/{request.path_params['sid']}.json was not found",
            )
        return JSONResponse(message)

    async def _progress(self, sid: str, url: str, statuses: list[str]) -> None:
        for status in statuses:
            await asyncio.sleep(CALLBACK_STEP_SECONDS)
            await self._callback(sid, url, status)

    async def _callback(self, sid: str, url: str, status: str) -> None:
        message = self.state.get(sid)
        if message is None:
            return
        message["status"] = status
        message["date_updated"] = formatdate(usegmt=True)
        if status in ("sent", "delivered"):
            message["date_sent"] = message["date_sent"] or message["date_updated"]
        params = {
            "AccountSid": message["account_sid"],
            "ApiVersion": API_VERSION,
            "From": message["from"],
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if status in ("undelivered", "failed"):
            params["ErrorCode"] = "30003"
            message["error_code"] = 30003
            message["error_message"] = "Unreachable destination handset"
        token = self.tokens.get(message["account_sid"], "")
        signature = compute_signature(token, url, params)
        record: dict[str, Any] = {
            "url": url,
            "params": params,
            "signature": signature,
            "delivered_status": None,
        }
        if len(self.callbacks) >= CALLBACKS_KEPT_MAX:
            self.callbacks.pop(0)
        self.callbacks.append(record)
        record["delivered_status"] = await deliver(
            url,
            headers={
                SIGNATURE_HEADER: signature,
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "TwilioProxy/1.1",
            },
            body=urlencode(params).encode(),
        )

    async def list_callbacks(self, _: Request) -> Response:
        return JSONResponse({"callbacks": self.callbacks})

    async def push_status(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        body = await request.json()
        url = body.get("url")
        if self.state.get(sid) is None or not url:
            return JSONResponse({"error": "unknown message or no url"}, status_code=404)
        if (reason := refused_target(str(url))) is not None:
            return JSONResponse({"error": reason}, status_code=403)
        await self._callback(sid, str(url), str(body.get("status", "delivered")))
        return JSONResponse(self.callbacks[-1])


def create_app() -> Starlette:
    state = SandboxState()
    sandbox = TwilioSandbox(state)
    base = f"/{API_VERSION}/Accounts/{{account_sid}}"
    routes = [
        Route(f"{base}/Messages.json", sandbox.create, methods=["POST"]),
        Route(f"{base}/Messages/{{sid}}.json", sandbox.fetch, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/callbacks", sandbox.list_callbacks, methods=["GET"]),
        Route(f"{HOOK_PREFIX}/messages/{{sid}}/status", sandbox.push_status, methods=["POST"]),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return twilio_error(503, 20500, "Service unavailable")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
    app.state.sandbox = sandbox
    assert limits.sandbox_objects_max > 0
    return app
