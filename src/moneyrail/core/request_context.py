"""Where a request came from (IP, user agent, request id), for the audit rows it writes.

The permissions kernel's `authenticate` and the anonymous auth endpoints bind it from the
request; the audit service reads it when it records an event, so callers never pass request
details around.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.requests import HTTPConnection

USER_AGENT_LENGTH_MAX = 512


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("moneyrail_audit_request", default=_EMPTY)


def context_of(request: HTTPConnection) -> RequestContext:
    client = request.client
    request_id = getattr(request.state, "request_id", None)
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        ip=client.host if client is not None else None,
        user_agent=user_agent[:USER_AGENT_LENGTH_MAX] if user_agent else None,
        request_id=request_id if isinstance(request_id, str) else None,
    )


def bind_request(request: HTTPConnection) -> RequestContext:
    context = context_of(request)
    _current.set(context)
    return context


def current() -> RequestContext:
    return _current.get()
