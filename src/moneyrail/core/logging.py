"""Logging: structlog for our events, and every other logger (uvicorn, SQLAlchemy, asyncio,
the standard library) rendered through the same processors, so with `LOG_JSON=true` every
line the process writes is one JSON object.

What a line may carry is bounded: secrets and credential headers are redacted by key at any
depth, tracebacks are plain (never the local variables of each frame, which hold request
headers and keys), and a line is cut to `limits.log_line_bytes_max`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from moneyrail.core import limits

_REDACTED = "[redacted]"
_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "secret",
        "client_secret",
        "webhook_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "x-api-key",
        "x_api_key",
        "otp",
        "code_verifier",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "card_number",
        "account_number",
        "private_key",
        "encryption_key",
    }
)
# Loggers whose own handlers would print plain text; they propagate to ours instead.
_FOREIGN_LOGGERS = ("uvicorn", "uvicorn.error", "sqlalchemy", "asyncio", "alembic")
# Quiet ones: requests are logged once, as `http.request`, with their request id.
_SILENT_LOGGERS = ("uvicorn.access",)
_WARNING_LOGGERS = ("alembic.runtime.plugins",)


def _redacted(value: Any, depth: int = 0) -> Any:
    if depth > limits.log_redaction_depth_max:
        return value
    if isinstance(value, Mapping):
        return {
            key: _REDACTED
            if isinstance(key, str) and key.lower() in _SECRET_KEYS
            else _redacted(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item, depth + 1) for item in value]
    return value


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event_dict.items()):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = _REDACTED
        elif isinstance(value, Mapping | list | tuple):
            event_dict[key] = _redacted(value)
    return event_dict


def _bound(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Cut long values (a traceback, a provider's answer) so one line stays bounded."""
    budget = limits.log_value_chars_max
    for key, value in list(event_dict.items()):
        if isinstance(value, str) and len(value) > budget:
            cut = len(value) - budget
            event_dict[key] = (
                f"{value[: budget // 2]}…[{cut} characters cut]…{value[-budget // 2 :]}"
            )
    return event_dict


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def _renderer(json: bool) -> Any:
    if json:
        return structlog.processors.JSONRenderer()
    # Plain tracebacks: the default console formatter prints every frame's locals.
    return structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )


_handler: logging.Handler | None = None


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    # Exceptions become a plain `exception` string in both modes, then the line is bounded.
    finish: list[Any] = [structlog.processors.format_exc_info, _bound]
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, *finish, _renderer(json)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # Resolve sys.stderr when a logger is made, not once: it may be replaced later
        # (test capture, daemonising), and a stale handle would be closed.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *finish,
            _renderer(json),
        ],
    )
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)  # configured again (tests build many apps)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(formatter)
    root.addHandler(_handler)
    root.setLevel(numeric_level)
    for name in _FOREIGN_LOGGERS:
        foreign = logging.getLogger(name)
        foreign.handlers[:] = []
        foreign.propagate = True
    for name in _SILENT_LOGGERS:
        logging.getLogger(name).propagate = False
    for name in _WARNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
