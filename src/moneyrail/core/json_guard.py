"""Refuses JSON bodies that parse but that nothing behind the API can store or walk safely.

PostgreSQL cannot store the NUL character in `text` or `jsonb`, nor an unpaired UTF-16
surrogate (it is not valid UTF-8), and a body nested thousands of levels deep exhausts
Python's recursion. Each is refused here, before routing and any database work:

* a string (or object key) holding `\\u0000` or a lone surrogate escape, or a number that
  is not finite (`1e999`, `NaN`, `Infinity`, which Python's parser accepts): 422
  `validation_error`, naming the field path;
* nesting deeper than `limits.json_depth_max`: 400 `json_too_deep`.

The common path costs one regular-expression scan of the raw body (for `\\u0000` and
`\\uD800`-`\\uDFFF` escapes, three-digit exponents, `NaN` and `Infinity`; about 2 µs for a
transfer) and a count of its opening brackets; the body is parsed here only when the scan
finds one of those, and bracket depth is measured only when the body has more opening
brackets than the depth limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moneyrail.core import limits

# `\u0000` or a surrogate escape `\uD800`-`\uDFFF`, any case. A match may still be harmless
# (an escaped backslash followed by "u0000", or a well-formed surrogate pair): those bodies
# are parsed and their strings checked exactly.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# Python's parser also turns `1e999` into infinity and accepts the `NaN`/`Infinity` literals,
# none of which a JSON column stores: a three-digit exponent or those words make the body
# suspect too (inside a string they are harmless, and the exact check says so). Separate
# searches: one alternation would forgo the escape pattern's literal-prefix scan.
_SUSPECT_EXPONENT = re.compile(rb"\d[eE]\+?\d{3}")


def _suspect(body: bytes) -> bool:
    return (
        _SUSPECT_ESCAPE.search(body) is not None
        or b"NaN" in body
        or b"Infinity" in body
        or _SUSPECT_EXPONENT.search(body) is not None
    )


# JSON strings (skipped whole) and brackets, for measuring depth.
_DEPTH_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_FORM_TYPES = (b"multipart/form-data", b"application/x-www-form-urlencoded")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_depth_exceeds(body: bytes, depth_max: int = limits.json_depth_max) -> bool:
    """Whether arrays/objects in `body` nest deeper than `depth_max` (brackets inside strings
    do not count). Cheap when the body has few brackets."""
    if body.count(b"[") + body.count(b"{") <= depth_max:
        return False
    depth = 0
    for match in _DEPTH_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > depth_max:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "text must not contain the NUL character (U+0000)"
    if _SURROGATE.search(text):
        return "text must not contain an unpaired UTF-16 surrogate (\\uD800-\\uDFFF)"
    return None


def unstorable_strings(value: Any, path: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Validation error items for every string, key or number in parsed JSON that PostgreSQL
    cannot store (NUL, lone surrogates, non-finite numbers). The caller bounds the depth first (`json_depth_exceeds`)."""
    found: list[dict[str, str]] = []
    if isinstance(value, str):
        reason = _text_problem(value)
        if reason is not None:
            found.append(_item(path, reason))
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = _text_problem(key)
            if reason is not None:
                found.append(_item(path, f"an object key: {reason}"))
                continue
            found.extend(unstorable_strings(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unstorable_strings(item, (*path, str(index))))
    elif isinstance(value, float) and not math.isfinite(value):
        found.append(_item(path, "numbers must be finite (no NaN, Infinity or overflow)"))
    return found


def _item(path: tuple[str, ...], message: str) -> dict[str, str]:
    if "NUL" in message:
        kind = "string_nul_character"
    elif "surrogate" in message:
        kind = "string_unpaired_surrogate"
    else:
        kind = "finite_number"
    return {
        "field": ".".join(path) or "body",
        "location": "body",
        "message": message,
        "type": kind,
    }


def check_json_body(body: bytes, *, depth_max: int = limits.json_depth_max) -> Problem | None:
    """The problem with a JSON body, or None when it may go on (invalid JSON included: the
    route's own parsing reports that)."""
    if json_depth_exceeds(body, depth_max):
        return Problem(
            400,
            "json_too_deep",
            "JSON nested too deeply",
            f"arrays and objects may nest at most {depth_max} levels deep",
        )
    if not _suspect(body):
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    errors = unstorable_strings(parsed)
    if not errors:
        return None
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return Problem(
        422,
        "validation_error",
        "Request validation failed",
        f"Invalid fields: {fields}",
        errors,
    )


def check_urlencoded(data: bytes, *, location: str) -> Problem | None:
    """The problem with a query string or a form body: a NUL character or bytes that are not
    UTF-8 (an encoded surrogate among them) cannot be stored, so they are refused here, as
    in JSON, before any database work."""
    if b"%" not in data and b"\x00" not in data:
        return None
    raw = unquote_to_bytes(data.replace(b"+", b" "))
    reason: str | None = None
    if b"\x00" in raw:
        reason = "text must not contain the NUL character (U+0000)"
    else:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            reason = "text must be UTF-8 (no unpaired surrogates or stray bytes)"
    if reason is None:
        return None
    fields = sorted(
        {
            name
            for name, value in parse_qsl(data.decode("latin-1"), keep_blank_values=True)
            if _text_problem(value) or _text_problem(name)
        }
    )
    field = ", ".join(fields) or location
    if location == "query" and fields == ["cursor"]:
        # A cursor is an opaque token of ours: anything else in its place is a bad cursor.
        return Problem(
            400,
            "invalid_cursor",
            "Invalid cursor",
            "the cursor is malformed; use next_cursor from a previous page",
        )
    return Problem(
        422,
        "validation_error",
        "Request validation failed",
        f"Invalid fields: {field}",
        [{"field": field, "location": location, "message": reason, "type": "string_unstorable"}],
    )


class Problem:
    __slots__ = ("code", "detail", "errors", "status", "title")

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors

    def body(self, request_id: str | None) -> bytes:
        content: dict[str, Any] = {
            "type": "https://moneyrail.dev/problems/" + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "request_id": request_id,
        }
        if self.errors is not None:
            content["errors"] = self.errors
        return json.dumps(content).encode()


def _body_kind(scope: Scope) -> str | None:
    """ "json" or "form" for a body this guard checks, None for none (or multipart)."""
    if scope["method"] not in _BODY_METHODS:
        return None
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            lowered = value.lower()
            if lowered.startswith(b"application/x-www-form-urlencoded"):
                return "form"
            return None if lowered.startswith(_FORM_TYPES) else "json"
    return "json"


class JSONGuardMiddleware:
    """Reads a JSON request body whole, checks it (`check_json_body`), and either refuses the
    request or hands the app the same body. Sits inside the body-size limit."""

    def __init__(self, app: ASGIApp, *, depth_max: int = limits.json_depth_max) -> None:
        self.app = app
        self.depth_max = depth_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        refused = check_urlencoded(query, location="query") if query else None
        if refused is not None:
            await _refuse(scope, send, refused)
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: let the app see it as it would have.
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        problem: Problem | None = None
        if body:
            problem = (
                check_json_body(body, depth_max=self.depth_max)
                if kind == "json"
                else check_urlencoded(body, location="body")
            )
        if problem is not None:
            await _refuse(scope, send, problem)
            return
        await self.app(scope, _replay([body], None, receive), send)


async def _refuse(scope: Scope, send: Send, problem: Problem) -> None:
    content = problem.body(scope.get("state", {}).get("request_id"))
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def _replay(bodies: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A `receive` giving the body read already as one message, then the original stream."""
    queue: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if pending is not None:
        queue.append(pending)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed
