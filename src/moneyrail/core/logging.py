"""structlog configuration: JSON in production, readable console output otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_REDACTED = "[redacted]"
_SECRET_KEYS = frozenset(
    {
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "otp",
        "authorization",
        "card_number",
        "account_number",
    }
)


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = _REDACTED
    return event_dict


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
        structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        # Plain tracebacks: rich's (the default when rich is installed) print every frame's
        # locals, which takes seconds for a database error (blocking the event loop) and
        # would write secrets held in locals to the log.
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # Resolve sys.stderr when a logger is made, not once: it may be replaced later
        # (test capture, daemonising), and a stale handle would be closed.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=numeric_level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
