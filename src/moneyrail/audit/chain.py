"""The hash chain: canonical content of an audit row and its SHA-256 link to the previous row.

Each tenant has its own chain. Row `n` stores `prev_hash` (the hash of row `n-1`, or
GENESIS_HASH for the first row) and `hash = sha256(canonical JSON of its content including
prev_hash)`. Changing, removing or reordering any row breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CHAIN_VERSION = 1
GENESIS_HASH = "0" * 64
# Platform events (no tenant) form a chain of their own under this id.
PLATFORM_TENANT_ID = "_platform"

_SECRET_MARKERS = ("password", "secret", "token", "otp", "key_hash", "api_key", "authorization")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class ChainFields:
    """Everything a row's hash covers."""

    tenant_id: str
    seq: int
    id: str
    created_at: datetime
    actor_type: str | None
    actor_id: str | None
    action: str
    target_type: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: ChainFields) -> bytes:
    content = {
        "v": CHAIN_VERSION,
        "tenant_id": fields.tenant_id,
        "seq": fields.seq,
        "id": fields.id,
        "created_at": timestamp(fields.created_at),
        "actor_type": fields.actor_type,
        "actor_id": fields.actor_id,
        "action": fields.action,
        "target_type": fields.target_type,
        "target_id": fields.target_id,
        "ip": fields.ip,
        "user_agent": fields.user_agent,
        "request_id": fields.request_id,
        "before": fields.before,
        "after": fields.after,
        "prev_hash": fields.prev_hash,
    }
    return _dump(content).encode()


def row_hash(fields: ChainFields) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def _dump(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_parts(
    *,
    tenant_id: str,
    id: str,
    created_at: datetime,
    actor_type: str | None,
    actor_id: str | None,
    action: str,
    target_type: str,
    target_id: str | None,
    ip: str | None,
    user_agent: str | None,
    request_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> tuple[str, str, str]:
    """A row's canonical text around the two values only the chain head knows.

    `head + prev_hash + mid + str(seq) + tail` is `canonical(...)` decoded, so the database
    can link rows under the head's lock (`audit_append`) in the statement that takes it.
    Keys sort as `...ip < prev_hash < request_id < seq < target_id...`.
    """
    before_prev = _dump(
        {
            "action": action,
            "actor_id": actor_id,
            "actor_type": actor_type,
            "after": after,
            "before": before,
            "created_at": timestamp(created_at),
            "id": id,
            "ip": ip,
        }
    )
    after_seq = _dump(
        {
            "target_id": target_id,
            "target_type": target_type,
            "tenant_id": tenant_id,
            "user_agent": user_agent,
            "v": CHAIN_VERSION,
        }
    )
    head = before_prev[:-1] + ',"prev_hash":"'
    mid = '",' + _dump({"request_id": request_id})[1:-1] + ',"seq":'
    tail = "," + after_seq[1:]
    return head, mid, tail


def summary(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy with anything that looks like a secret redacted.

    Round-tripping through JSON makes the stored value (JSONB) hash the same when read back.
    """
    if value is None:
        return None
    cleaned = json.loads(json.dumps(_redact(value), default=str))
    assert isinstance(cleaned, dict)
    return cleaned


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): (REDACTED if _is_secret(str(k)) else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)
